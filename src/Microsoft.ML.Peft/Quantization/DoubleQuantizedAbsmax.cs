using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Quantization;

/// <summary>
/// Double quantization (QLoRA): the fp32 per-block absmax values, shape (n), stored in 8 bits.
/// The absmax values are all positive and cluster around their mean, so the mean is subtracted first
/// (stored once, fp32) and the centred values are quantized in blocks of <see cref="BlockSize"/> (256) with
/// a <b>linear symmetric int8</b> absmax code: code = round(127 * c / max|c|), one fp32 scale max|c| / 127
/// per block. (bitsandbytes uses its dynamic 8-bit float map here; the linear code is simpler and its error,
/// at most half a step = max|c| / 254 per value, is far below the NF4 rounding error it scales.)
/// Storage: n int8 codes + 4 bytes per 256 values + 4 bytes for the mean, i.e. at NF4 block size 64
/// 8/64 + 32/(64*256) = 0.126953 bits per parameter instead of 32/64 = 0.5.
/// </summary>
public sealed class DoubleQuantizedAbsmax : IDisposable
{
    DoubleQuantizedAbsmax(Tensor codes, Tensor scales, Tensor mean, int blockSize)
    {
        Codes = codes;
        Scales = scales;
        Mean = mean;
        BlockSize = blockSize;
    }

    /// <summary>int8 codes of the centred absmax values, shape (n).</summary>
    public Tensor Codes { get; }

    /// <summary>fp32 step of each block of codes (max |absmax - mean| / 127), shape (ceil(n / BlockSize)).</summary>
    public Tensor Scales { get; }

    /// <summary>fp32 mean of the absmax values, shape (1).</summary>
    public Tensor Mean { get; }

    /// <summary>Number of absmax values sharing one scale.</summary>
    public int BlockSize { get; }

    /// <summary>Bytes held: codes + scales + mean.</summary>
    public long Bytes => Codes.numel() * Codes.element_size() + Scales.numel() * Scales.element_size() + Mean.numel() * Mean.element_size();

    /// <summary>Quantizes the absmax values.</summary>
    /// <param name="absmax">fp32 per-block absmax values, shape (n).</param>
    /// <param name="blockSize">Values per int8 block (default 256); the last block may be partial.</param>
    public static DoubleQuantizedAbsmax Quantize(Tensor absmax, int blockSize = 256)
    {
        if (blockSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, $"The double-quantization block size must be positive, got {blockSize}.");
        if (absmax.numel() == 0)
            throw new ArgumentException("Cannot double-quantize an empty absmax tensor.", nameof(absmax));
        QuantizationGuards.CheckFinite(absmax, nameof(absmax));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = absmax.detach().to(ScalarType.Float32).flatten();                   // (n)
        long n = values.numel(), groups = (n + blockSize - 1) / blockSize;
        var mean = values.mean().reshape(1);                                               // (1)
        var centred = values.sub(mean);                                                    // (n)
        // Zero-pad to whole blocks so every block has a row; padding never raises a block's max.
        var padded = nn.functional.pad(centred, new long[] { 0, groups * blockSize - n }).view(groups, blockSize);
        var scales = padded.abs().amax(new long[] { 1 }).div(127);                        // (groups)
        var divisor = where(scales.eq(0), ones_like(scales), scales).unsqueeze(1);         // (groups, 1)
        var codes = padded.div(divisor).round().clamp(-127, 127).to(ScalarType.Int8).flatten().narrow(0, 0, n);  // (n)
        return new DoubleQuantizedAbsmax(
            codes.contiguous().MoveToOuterDisposeScope(), scales.MoveToOuterDisposeScope(), mean.MoveToOuterDisposeScope(), blockSize);
    }

    /// <summary>Reconstructs the fp32 absmax values, shape (n).</summary>
    public Tensor Dequantize() => Dequantize(Codes, Scales, Mean, BlockSize);

    /// <summary>Reconstructs fp32 absmax values from stored parts: codes * scale of their block + mean.</summary>
    /// <param name="codes">int8, shape (n).</param>
    /// <param name="scales">fp32, shape (ceil(n / blockSize)).</param>
    /// <param name="mean">fp32, shape (1).</param>
    /// <param name="blockSize">Values per scale.</param>
    public static Tensor Dequantize(Tensor codes, Tensor scales, Tensor mean, int blockSize)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long n = codes.numel();
        var blockOfValue = arange(n, dtype: ScalarType.Int64, device: codes.device).div(blockSize, rounding_mode: RoundingMode.floor);
        var step = scales.to(ScalarType.Float32).index_select(0, blockOfValue);              // (n)
        return codes.to(ScalarType.Float32).mul(step).add(mean.to(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    /// <summary>Releases the tensors.</summary>
    public void Dispose()
    {
        Codes.Dispose();
        Scales.Dispose();
        Mean.Dispose();
    }
}
