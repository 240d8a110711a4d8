using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Checkpoints;

public class ShardedCheckpointTests
{
    /// <summary>Six tensors of 400 bytes each (100 floats), plus an int buffer.</summary>
    static Dictionary<string, Tensor> Tensors()
    {
        manual_seed(7);
        var tensors = new Dictionary<string, Tensor>();
        for (int i = 0; i < 6; i++) tensors[$"layers.{i}.weight"] = randn(10, 10);
        tensors["position_ids"] = arange(50, dtype: ScalarType.Int64).unsqueeze(0);
        return tensors;
    }

    [Fact]
    public void ShardedSaveLoadsIdenticalTensorsWithACorrectIndex()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var source = Tensors();
        SafeTensorsCheckpoint.Save(folder.Path, source, maxShardBytes: 1000);

        // 400 + 400 fit in 1000, a third does not: three shards of two layers, then the 400-byte buffer.
        Assert.Equal(new[]
        {
            "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors",
            "model-00004-of-00004.safetensors", "model.safetensors.index.json",
        }, folder.FileNames());

        using (var json = JsonDocument.Parse(File.ReadAllText(folder.File(SafeTensorsIndex.FileName))))
        {
            Assert.Equal(6 * 400 + 50 * 8, json.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
            var map = json.RootElement.GetProperty("weight_map");
            Assert.Equal("model-00001-of-00004.safetensors", map.GetProperty("layers.1.weight").GetString());
            Assert.Equal("model-00002-of-00004.safetensors", map.GetProperty("layers.2.weight").GetString());
            Assert.Equal("model-00004-of-00004.safetensors", map.GetProperty("position_ids").GetString());
        }

        using var checkpoint = SafeTensorsCheckpoint.Open(folder.Path);
        Assert.NotNull(checkpoint.Index);
        Assert.Equal(4, checkpoint.Files.Count);
        Assert.Equal(source.Keys.Order(), checkpoint.Keys.Order());
        foreach (var (name, expected) in source) TensorAssert.BitEqual(expected, checkpoint.ReadTensor(name), name);
    }

    [Fact]
    public void UnshardedSaveWritesOneFileAndReplacesAnOldShardedLayout()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var source = Tensors();
        SafeTensorsCheckpoint.Save(folder.Path, source, maxShardBytes: 1000);
        SafeTensorsCheckpoint.Save(folder.Path, source, maxShardBytes: 1L << 30); // everything fits: one file

        Assert.Equal(new[] { SafeTensorsCheckpoint.SingleFileName }, folder.FileNames());
        using var checkpoint = SafeTensorsCheckpoint.Open(folder.Path);
        Assert.Null(checkpoint.Index);
        foreach (var (name, expected) in source) TensorAssert.BitEqual(expected, checkpoint.ReadTensor(name), name);
    }

    [Fact]
    public void MissingShardIsNamed()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        SafeTensorsCheckpoint.Save(folder.Path, Tensors(), maxShardBytes: 1000);
        string lost = folder.File("model-00002-of-00004.safetensors");
        File.Delete(lost);

        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.Open(folder.Path).Dispose());
        TensorAssert.MessageNames(e, "missing shard", lost, "'layers.2.weight'");
        Assert.Equal(lost, e.FilePath);
        Assert.Equal("layers.2.weight", e.Key);
    }

    [Fact]
    public void KeyWhoseShardLacksItIsNamed()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        SafeTensorsCheckpoint.Save(folder.Path, Tensors(), maxShardBytes: 1000);
        string indexPath = folder.File(SafeTensorsIndex.FileName);
        var index = SafeTensorsIndex.Load(indexPath);
        var map = index.WeightMap.ToDictionary(p => p.Key, p => p.Value);
        map["layers.0.weight"] = "model-00003-of-00004.safetensors";
        new SafeTensorsIndex(map, index.TotalSize).Save(indexPath);

        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.Open(folder.Path).Dispose());
        TensorAssert.MessageNames(e, "'layers.0.weight'", "model-00003-of-00004.safetensors", "does not hold it");
    }

    [Fact]
    public void FailedSaveLeavesNoFileBehind()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var tensors = Tensors().ToList();
        tensors.Add(new("complex", zeros(2, dtype: ScalarType.ComplexFloat32))); // no safetensors name

        Assert.Throws<NotSupportedException>(() => SafeTensorsCheckpoint.Save(folder.Path, tensors, maxShardBytes: 1000));
        Assert.Empty(folder.FileNames());
        Assert.Throws<NotSupportedException>(() => SafeTensorsCheckpoint.Save(folder.Path, tensors));
        Assert.Empty(folder.FileNames());
        Assert.Throws<NotSupportedException>(() => SafeTensorsWriter.Write(folder.File("direct.safetensors"), tensors));
        Assert.Empty(folder.FileNames());
    }

    [Fact]
    public void FailureWhileWritingShardsRemovesTheShardsAlreadyWritten()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var tensors = Tensors().ToList();
        // A tensor on the meta device has a dtype and shape but no data: it fails only when its bytes are
        // written, after the first shards are already on disk.
        tensors.Add(new("meta", empty(new long[] { 10, 10 }, device: device("meta"))));

        Assert.ThrowsAny<Exception>(() => SafeTensorsCheckpoint.Save(folder.Path, tensors, maxShardBytes: 1000));
        Assert.Empty(folder.FileNames());
    }

    [Fact]
    public void FolderWithoutACheckpointIsNamed()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.Open(folder.Path).Dispose());
        TensorAssert.MessageNames(e, folder.Path, SafeTensorsCheckpoint.SingleFileName, SafeTensorsIndex.FileName);
    }

    [Fact]
    public void OpensASingleFileOrAnIndexDirectly()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        SafeTensorsCheckpoint.Save(folder.Path, Tensors(), maxShardBytes: 1000);
        using (var viaIndex = SafeTensorsCheckpoint.Open(folder.File(SafeTensorsIndex.FileName)))
            Assert.Equal(7, viaIndex.Keys.Count);
        using var viaShard = SafeTensorsCheckpoint.Open(folder.File("model-00004-of-00004.safetensors"));
        Assert.Equal(new[] { "position_ids" }, viaShard.Keys);
    }
}
