using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Checkpoints;

public class SafeTensorsRoundTripTests
{
    static Dictionary<string, Tensor> EveryDType()
    {
        manual_seed(1);
        return new Dictionary<string, Tensor>
        {
            ["f64"] = randn(3, 2, dtype: ScalarType.Float64),
            ["f32"] = randn(4, 5),
            ["f16"] = randn(2, 3).to(ScalarType.Float16),
            ["bf16"] = randn(7).to(ScalarType.BFloat16),
            ["i64"] = randint(-1_000_000_000_000, 1_000_000_000_000, new long[] { 2, 2 }, dtype: ScalarType.Int64),
            ["i32"] = randint(int.MinValue, int.MaxValue, new long[] { 3 }, dtype: ScalarType.Int32),
            ["i16"] = randint(short.MinValue, short.MaxValue, new long[] { 3 }, dtype: ScalarType.Int16),
            ["i8"] = randint(-128, 127, new long[] { 5 }, dtype: ScalarType.Int8),
            ["u8"] = randint(0, 255, new long[] { 2, 3, 4 }, dtype: ScalarType.Byte),
            ["bool"] = tensor(new[] { true, false, true }),
            ["scalar"] = tensor(3.25f),
            ["empty"] = empty(new long[] { 0, 3 }),
            ["nan"] = tensor(new[] { float.NaN, -0.0f, float.PositiveInfinity, float.Epsilon }),
            ["encoder.ñame+<1>/\"q\""] = ones(1), // the JSON writer escapes these; the reader must unescape
        };
    }

    [Fact]
    public void EveryDTypeScalarAndEmptyRoundTripBitExact()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var source = EveryDType();
        string path = folder.File("all.safetensors");
        SafeTensorsWriter.Write(path, source);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(source.Keys, file.Keys); // file order is write order
        foreach (var (name, expected) in source)
        {
            var entry = file.GetEntry(name);
            Assert.Equal(expected.dtype, entry.DType);
            Assert.Equal(expected.shape, entry.Shape);
            TensorAssert.BitEqual(expected, file.ReadTensor(name), name);

            // ReadInto a preallocated tensor of the same dtype streams the bytes in place.
            var destination = empty(expected.shape, expected.dtype);
            file.ReadInto(name, destination);
            TensorAssert.BitEqual(expected, destination, name);
        }
        Assert.Empty(file.GetEntry("scalar").Shape);
        Assert.Equal(0, file.GetEntry("empty").ByteLength);
    }

    [Fact]
    public void MetadataRoundTripsAndFormatPtIsAdded()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = folder.File("meta.safetensors");
        var metadata = new Dictionary<string, string> { ["base_model"] = "bert-base-uncased", ["note"] = "ünïcödé \"quoted\"" };
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["w"] = ones(2) }, metadata);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal("bert-base-uncased", file.Metadata["base_model"]);
        Assert.Equal("ünïcödé \"quoted\"", file.Metadata["note"]);
        Assert.Equal("pt", file.Metadata["format"]);
    }

    [Fact]
    public void ReadIntoConvertsBetweenFloatTypes()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = folder.File("f16.safetensors");
        var half = tensor(new[] { 1.5f, -2.25f, 1024f }).to(ScalarType.Float16);
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["h"] = half });

        using var file = SafeTensorsFile.Open(path);
        var destination = zeros(3);
        file.ReadInto("h", destination);
        Assert.Equal(new[] { 1.5f, -2.25f, 1024f }, destination.data<float>().ToArray());
    }

    [Fact]
    public void ReadIntoANonContiguousDestinationCopies()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = folder.File("t.safetensors");
        var source = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["t"] = source });

        using var file = SafeTensorsFile.Open(path);
        var backing = zeros(3, 2);
        var transposed = backing.t(); // shape [2, 3], not contiguous
        file.ReadInto("t", transposed);
        TensorAssert.BitEqual(source, transposed.contiguous());
    }

    [Fact]
    public void LargeTensorsAreReadInSlicesIncludingAShortLastOne()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = folder.File("sliced.safetensors");
        var source = new Dictionary<string, Tensor> { ["a"] = randn(3), ["big"] = randn(37, 11).to(ScalarType.Float64), ["z"] = randn(2) };
        SafeTensorsWriter.Write(path, source);

        using var file = SafeTensorsFile.Open(path);
        file.ReadSliceBytes = 100; // 12 doubles a slice: 407 elements make 33 full slices and a short one
        foreach (var (name, expected) in source) TensorAssert.BitEqual(expected, file.ReadTensor(name), name);
    }
}
