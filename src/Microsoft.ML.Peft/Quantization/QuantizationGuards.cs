using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Quantization;

/// <summary>The checks made before quantizing a weight, each with a message that names the offending numbers.</summary>
static class QuantizationGuards
{
    /// <summary>Throws unless <paramref name="weight"/> is a finite floating-point tensor that splits into whole blocks.</summary>
    public static void CheckQuantizable(Tensor weight, int blockSize, string name)
    {
        if (weight.dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
            throw new ArgumentException(
                $"Cannot quantize {name} of dtype {weight.dtype}: NF4 quantization needs a floating-point weight (Float32, BFloat16, Float16 or Float64).",
                name);
        CheckBlocks(weight.numel(), blockSize, weight.shape, name);
        CheckFinite(weight, name);
    }

    /// <summary>Throws unless <paramref name="count"/> elements split into whole blocks and whole bytes.</summary>
    public static void CheckBlocks(long count, int blockSize, long[] shape, string name)
    {
        string shapeText = "[" + string.Join(", ", shape) + "]";
        if (blockSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, $"The quantization block size must be positive, got {blockSize}.");
        if (count == 0)
            throw new ArgumentException($"Cannot quantize {name}: it has no elements (shape {shapeText}).", name);
        if (count % blockSize != 0)
            throw new ArgumentException(
                $"Block size {blockSize} does not divide the {count} elements of {name} (shape {shapeText}): {count} % {blockSize} = {count % blockSize}.",
                name);
        if (count % 2 != 0)
            throw new ArgumentException(
                $"Cannot pack {name} (shape {shapeText}) two codes per byte: it has an odd number of elements, {count}.", name);
    }

    /// <summary>Throws if <paramref name="weight"/> holds NaN or infinite values, saying how many of each.</summary>
    public static void CheckFinite(Tensor weight, string name)
    {
        using var scope = NewDisposeScope();
        if (isfinite(weight).all().item<bool>()) return;
        long nan = isnan(weight).sum().item<long>();
        long inf = isinf(weight).sum().item<long>();
        throw new ArgumentException(
            $"Cannot quantize {name}: it contains non-finite values ({nan} NaN, {inf} Inf out of {weight.numel()}); absmax scaling needs finite weights.",
            name);
    }
}
