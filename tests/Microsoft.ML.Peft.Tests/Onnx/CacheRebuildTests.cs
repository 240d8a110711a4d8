using Microsoft.ML.Peft.Onnx;

namespace Microsoft.ML.Peft.Tests.Onnx;

/// <summary>A cache folder that is truncated, missing a file, missing its marker or stale is rebuilt.</summary>
public class CacheRebuildTests : IClassFixture<MiniLmFixture>
{
    readonly MiniLmFixture _fx;
    public CacheRebuildTests(MiniLmFixture fx) => _fx = fx;

    string WeightsPath => Path.Combine(_fx.Folder, "model.safetensors");
    string MarkerPath => Path.Combine(_fx.Folder, ".peft-onnx-import.json");

    [Fact]
    public void Truncated_weights_are_rebuilt()
    {
        long size = new FileInfo(WeightsPath).Length;
        using (var f = new FileStream(WeightsPath, FileMode.Open)) f.SetLength(size / 2);
        MiniLmL6V2.EnsureDownloaded(_fx.CacheRoot);
        Assert.Equal(size, new FileInfo(WeightsPath).Length);
        using (var weights = new ImportedWeights(WeightsPath)) Assert.Equal(103, weights.Names.Count);
    }

    [Fact]
    public void Missing_file_or_marker_is_rebuilt()
    {
        File.Delete(Path.Combine(_fx.Folder, "vocab.txt"));
        MiniLmL6V2.EnsureDownloaded(_fx.CacheRoot);
        Assert.True(File.Exists(Path.Combine(_fx.Folder, "vocab.txt")));

        // A folder without its marker is a conversion that did not finish.
        File.Delete(MarkerPath);
        var stamp = File.GetLastWriteTimeUtc(WeightsPath);
        Thread.Sleep(20);
        MiniLmL6V2.EnsureDownloaded(_fx.CacheRoot);
        Assert.True(File.Exists(MarkerPath));
        Assert.NotEqual(stamp, File.GetLastWriteTimeUtc(WeightsPath));
    }

    [Fact]
    public void Stale_or_garbled_marker_is_rebuilt()
    {
        File.WriteAllText(MarkerPath, File.ReadAllText(MarkerPath).Replace("24.9.52193", "0.0.1"));
        MiniLmL6V2.EnsureDownloaded(_fx.CacheRoot);
        Assert.Contains("24.9.52193", File.ReadAllText(MarkerPath));

        File.WriteAllText(MarkerPath, "{ not json");
        MiniLmL6V2.EnsureDownloaded(_fx.CacheRoot);
        Assert.Contains("24.9.52193", File.ReadAllText(MarkerPath));
        Assert.Empty(Directory.GetDirectories(_fx.CacheRoot, "*.tmp-*"));
    }
}
