using System.Text;
using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Checkpoints;

/// <summary>Corrupt files fail on open, with a message naming the problem, the file and the tensor.</summary>
public class SafeTensorsValidationTests
{
    static CheckpointException OpenFails(string path)
        => Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path).Dispose());

    static CheckpointException OpenHandBuilt(TempFolder folder, string header, int dataBytes)
    {
        string path = folder.File("bad.safetensors");
        File.WriteAllBytes(path, SafeTensorsFormatTests.BuildFile(header, new byte[dataBytes]));
        var e = OpenFails(path);
        Assert.Equal(path, e.FilePath);
        return e;
    }

    static string WriteValid(TempFolder folder)
    {
        using var scope = NewDisposeScope();
        string path = folder.File("valid.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["first"] = ones(4, 4), ["last.weight"] = ones(8) });
        return path;
    }

    [Fact]
    public void FileCutInTheHeaderIsATruncatedHeader()
    {
        using var folder = new TempFolder();
        string path = WriteValid(folder);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..40]);
        var e = OpenFails(path);
        TensorAssert.MessageNames(e, "truncated header", path);

        File.WriteAllBytes(path, bytes[..5]); // not even the length
        TensorAssert.MessageNames(OpenFails(path), "truncated header", path);
    }

    [Fact]
    public void FileCutInTheDataNamesTheTruncatedTensor()
    {
        using var folder = new TempFolder();
        string path = WriteValid(folder);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]); // the last tensor loses its last float
        var e = OpenFails(path);
        TensorAssert.MessageNames(e, "truncated data", path, "'last.weight'");
        Assert.Equal("last.weight", e.Key);
    }

    [Fact]
    public void UnknownDTypeNameIsNamed()
    {
        using var folder = new TempFolder();
        var e = OpenHandBuilt(folder, """{"w":{"dtype":"F8_E9M9","shape":[2],"data_offsets":[0,2]}}""", 2);
        TensorAssert.MessageNames(e, "unknown dtype 'F8_E9M9'", "'w'", e.FilePath!);
        Assert.Equal("w", e.Key);
    }

    [Fact]
    public void OffsetsThatDoNotMatchTheShapeAreASizeMismatch()
    {
        using var folder = new TempFolder();
        var e = OpenHandBuilt(folder, """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8);
        TensorAssert.MessageNames(e, "size mismatch", "'w'", "[3]", e.FilePath!);
    }

    [Fact]
    public void OverlappingRangesAreRefused()
    {
        using var folder = new TempFolder();
        var e = OpenHandBuilt(folder,
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12);
        TensorAssert.MessageNames(e, "overlapping", "'a'", "'b'", e.FilePath!);
    }

    [Fact]
    public void DuplicateNamesAreRefused()
    {
        using var folder = new TempFolder();
        var e = OpenHandBuilt(folder,
            """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2);
        TensorAssert.MessageNames(e, "duplicate", "'a'", e.FilePath!);
    }

    [Theory]
    [InlineData("""{"a": {"dtype": "F32", """, "invalid JSON")]
    [InlineData("""[1, 2]""", "invalid JSON")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}""", "non-negative")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", "data_offsets")]
    [InlineData("""{"__metadata__":{"n":1}}""", "metadata")]
    public void MalformedHeadersAreRefused(string header, string problem)
    {
        using var folder = new TempFolder();
        var e = OpenHandBuilt(folder, header, 0);
        TensorAssert.MessageNames(e, problem, e.FilePath!);
    }

    [Fact]
    public void HeaderLengthBeyondTheFileIsATruncatedHeader()
    {
        using var folder = new TempFolder();
        string path = folder.File("huge.safetensors");
        var bytes = new byte[16];
        BitConverter.GetBytes(ulong.MaxValue).CopyTo(bytes, 0);
        File.WriteAllBytes(path, bytes);
        TensorAssert.MessageNames(OpenFails(path), "truncated header", path);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        using var folder = new TempFolder();
        string path = folder.File("nope.safetensors");
        TensorAssert.MessageNames(OpenFails(path), "not found", path);
    }

    [Fact]
    public void ReadIntoRefusesIntegersIntoFloatsAndWrongShapes()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = folder.File("ints.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["ids"] = arange(4, dtype: ScalarType.Int64) });
        using var file = SafeTensorsFile.Open(path);

        var e = Assert.Throws<CheckpointException>(() => file.ReadInto("ids", zeros(4)));
        TensorAssert.MessageNames(e, "dtype mismatch", "expected F32", "found I64", "'ids'", path);
        e = Assert.Throws<CheckpointException>(() => file.ReadInto("ids", zeros(new long[] { 2, 2 }, dtype: ScalarType.Int64)));
        TensorAssert.MessageNames(e, "shape mismatch", "expected [2, 2]", "found [4]", "'ids'", path);
        e = Assert.Throws<CheckpointException>(() => file.ReadTensor("other"));
        TensorAssert.MessageNames(e, "'other'", path);
    }
}
