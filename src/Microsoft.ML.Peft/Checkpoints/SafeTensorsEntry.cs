using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>One tensor described by a safetensors header: its name, type, shape and where its bytes lie.</summary>
public sealed class SafeTensorsEntry
{
    internal SafeTensorsEntry(string name, string dtypeName, ScalarType type, long[] shape, long dataBegin, long dataEnd, long dataStart)
    {
        Name = name;
        DTypeName = dtypeName;
        DType = type;
        _shape = shape;
        Shape = Array.AsReadOnly(shape);
        DataBegin = dataBegin;
        DataEnd = dataEnd;
        FileOffset = dataStart + dataBegin;
    }

    readonly long[] _shape;

    /// <summary>The tensor name, e.g. <c>encoder.layer.0.attention.self.query.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The safetensors dtype name as written in the header, e.g. <c>F32</c>.</summary>
    public string DTypeName { get; }

    /// <summary>The TorchSharp scalar type of <see cref="DTypeName"/>.</summary>
    public ScalarType DType { get; }

    /// <summary>The shape; empty for a 0-d (scalar) tensor.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Start of the tensor's bytes, relative to the start of the data section (the header's <c>data_offsets[0]</c>).</summary>
    public long DataBegin { get; }

    /// <summary>End (exclusive) of the tensor's bytes, relative to the start of the data section (<c>data_offsets[1]</c>).</summary>
    public long DataEnd { get; }

    /// <summary>Absolute position of the tensor's first byte in the file.</summary>
    public long FileOffset { get; }

    /// <summary>Number of bytes the tensor occupies.</summary>
    public long ByteLength => DataEnd - DataBegin;

    /// <summary>Number of elements (1 for a scalar, 0 for an empty tensor).</summary>
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);

    /// <summary>The shape as an array, for tensor factories.</summary>
    internal long[] ShapeArray => _shape;

    /// <summary>The shape written the way PyTorch prints it, e.g. <c>[768, 3072]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    internal static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {DTypeName} {ShapeText} @ {DataBegin}..{DataEnd}";
}
