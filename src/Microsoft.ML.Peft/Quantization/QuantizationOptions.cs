using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Quantization;

/// <summary>
/// How a frozen weight is quantized to 4 bits (QLoRA): the code book, the absmax block size, whether the
/// per-block scales are themselves quantized (double quantization) and the dtype the weight is
/// dequantized into for the matmul.
/// </summary>
public sealed record QuantizationOptions
{
    /// <summary>The only supported code book: 4-bit NormalFloat (<see cref="Nf4Codebook"/>).</summary>
    public const string Nf4 = "nf4";

    /// <summary>The code book; only <c>"nf4"</c> (case-insensitive) is supported.</summary>
    public string QuantType { get; init; } = Nf4;

    /// <summary>Number of consecutive elements of the flattened weight that share one absmax scale (default 64).</summary>
    public int BlockSize { get; init; } = 64;

    /// <summary>
    /// Whether the fp32 per-block absmax values are quantized to 8 bits (QLoRA "double quantization"),
    /// cutting the scale overhead from 0.5 to about 0.127 bits per parameter at block size 64. Default true,
    /// as in the QLoRA recipe.
    /// </summary>
    public bool DoubleQuant { get; init; } = true;

    /// <summary>Number of absmax values that share one fp32 scale in double quantization (default 256).</summary>
    public int DoubleQuantBlockSize { get; init; } = 256;

    /// <summary>The dtype the weight is dequantized into for the forward matmul: bfloat16 (default), float16 or float32.</summary>
    public ScalarType ComputeDType { get; init; } = ScalarType.BFloat16;

    /// <summary>Throws a clear exception for an unsupported code book, block size or compute dtype.</summary>
    public void Validate()
    {
        if (!string.Equals(QuantType, Nf4, StringComparison.OrdinalIgnoreCase))
            throw new NotSupportedException($"Quantization type '{QuantType}' is not supported; the only supported type is '{Nf4}'.");
        if (BlockSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, $"The quantization block size must be positive, got {BlockSize}.");
        if (DoubleQuant && DoubleQuantBlockSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(DoubleQuantBlockSize), DoubleQuantBlockSize,
                $"The double-quantization block size must be positive, got {DoubleQuantBlockSize}.");
        if (ComputeDType is not (ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float32))
            throw new NotSupportedException($"Compute dtype {ComputeDType} is not supported; use BFloat16, Float16 or Float32.");
    }
}
