using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Quantization;

/// <summary>
/// A weight stored in NF4: packed 4-bit codes (two per byte, high nibble first) and the per-block absmax
/// scales, either fp32 or double-quantized. Owns its tensors.
/// </summary>
public sealed class QuantizedWeight : IDisposable
{
    QuantizedWeight(Tensor packed, long[] shape, int blockSize, Tensor? absmax, DoubleQuantizedAbsmax? doubleQuant)
    {
        Packed = packed;
        Shape = shape;
        BlockSize = blockSize;
        Absmax = absmax;
        DoubleQuantized = doubleQuant;
    }

    /// <summary>uint8 codes, shape (numel / 2).</summary>
    public Tensor Packed { get; }

    /// <summary>Shape of the original weight, e.g. (out_features, in_features).</summary>
    public long[] Shape { get; }

    /// <summary>Elements per absmax block.</summary>
    public int BlockSize { get; }

    /// <summary>fp32 absmax of each block, shape (numel / BlockSize); null when double-quantized.</summary>
    public Tensor? Absmax { get; }

    /// <summary>The 8-bit absmax state; null without double quantization.</summary>
    public DoubleQuantizedAbsmax? DoubleQuantized { get; }

    /// <summary>Number of weight elements.</summary>
    public long ElementCount => Packed.numel() * 2;

    /// <summary>Bytes held: packed codes plus the quantization state.</summary>
    public long Bytes => Packed.numel() + (Absmax is null ? 0 : Absmax.numel() * 4) + (DoubleQuantized?.Bytes ?? 0);

    /// <summary>Storage bits per weight element, state included (4.5 at block 64; about 4.127 with double quantization).</summary>
    public double BitsPerParameter => Bytes * 8.0 / ElementCount;

    /// <summary>Quantizes <paramref name="weight"/> (any float dtype and shape) to NF4.</summary>
    /// <exception cref="NotSupportedException">The options name an unsupported quantization type.</exception>
    /// <exception cref="ArgumentException">Non-float dtype, NaN/Inf values, or a block size that does not divide the element count.</exception>
    public static QuantizedWeight Quantize(Tensor weight, QuantizationOptions? options = null)
    {
        options ??= new QuantizationOptions();
        options.Validate();
        var (packed, absmax) = BlockwiseNf4.Quantize(weight, options.BlockSize);
        if (!options.DoubleQuant)
            return new QuantizedWeight(packed, weight.shape, options.BlockSize, absmax, null);
        using (absmax)
            return new QuantizedWeight(packed, weight.shape, options.BlockSize, null, DoubleQuantizedAbsmax.Quantize(absmax, options.DoubleQuantBlockSize));
    }

    /// <summary>The fp32 absmax of each block, shape (numel / BlockSize), reconstructed when double-quantized. A new tensor.</summary>
    public Tensor BlockScales() => DoubleQuantized?.Dequantize() ?? Absmax!.clone();

    /// <summary>The dequantized weight in <paramref name="dtype"/> (computed in fp32, rounded once), shape <see cref="Shape"/>.</summary>
    public Tensor Dequantize(ScalarType dtype = ScalarType.Float32)
    {
        using var scales = BlockScales();
        return BlockwiseNf4.Dequantize(Packed, scales, Shape, dtype);
    }

    /// <summary>
    /// Scale overhead in bits per parameter, from the layout alone (the 4 bytes of the double-quantization
    /// mean, spread over the whole tensor, are left out): 32 / blockSize for fp32 absmax;
    /// 8 / blockSize + 32 / (blockSize * doubleQuantBlockSize) with double quantization (0.126953 for 64 / 256).
    /// </summary>
    public static double OverheadBitsPerParameter(int blockSize, bool doubleQuant, int doubleQuantBlockSize = 256) =>
        doubleQuant ? 8.0 / blockSize + 32.0 / ((double)blockSize * doubleQuantBlockSize) : 32.0 / blockSize;

    /// <summary>Releases the tensors.</summary>
    public void Dispose()
    {
        Packed.Dispose();
        Absmax?.Dispose();
        DoubleQuantized?.Dispose();
    }
}
