using Microsoft.ML.Peft.Quantization;
using static Microsoft.ML.Peft.Tests.Quantization.QuantizationTestData;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Quantization;

public class Nf4CodebookTests
{
    [Fact]
    public void CodeValuesAreThePublishedOnes()
    {
        Assert.Equal(Nf4Theory.Codes.Select(c => (float)c), Nf4Codebook.Values);
        Assert.Equal(15, Nf4Codebook.Midpoints.Count);
        for (int i = 0; i < 15; i++)
            Assert.True(Nf4Codebook.Values[i] < Nf4Codebook.Midpoints[i] && Nf4Codebook.Midpoints[i] < Nf4Codebook.Values[i + 1]);
    }

    [Fact]
    public void EveryCodeValueMapsToItself()
    {
        // One block of 64 holding each of the 16 values four times; -1 and 1 are in it, so its absmax is 1.
        var block = Enumerable.Range(0, 64).Select(i => Nf4Codebook.Values[i % 16]).ToArray();
        using var weight = tensor(block).view(4, 16);
        using var q = QuantizedWeight.Quantize(weight, new QuantizationOptions { DoubleQuant = false });
        using var codes = NibblePacking.Unpack(q.Packed);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (byte)(i % 16)), codes.data<byte>().ToArray());
        Assert.Equal(1f, q.Absmax!.item<float>());
        using var back = q.Dequantize();
        Assert.True(Same(weight, back));
    }

    [Fact]
    public void EveryCodeValueKeepsItsCodeUnderAnyScale()
    {
        // Same block scaled by 3.7: x / absmax is within rounding of the code, far from any midpoint.
        var block = Enumerable.Range(0, 64).Select(i => Nf4Codebook.Values[i % 16] * 3.7f).ToArray();
        using var weight = tensor(block);
        using var q = QuantizedWeight.Quantize(weight, new QuantizationOptions { DoubleQuant = false });
        using var codes = NibblePacking.Unpack(q.Packed);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (byte)(i % 16)), codes.data<byte>().ToArray());
        using var back = q.Dequantize();
        Assert.True(RelativeError(back, weight) < 1e-6);
    }

    [Fact]
    public void PackingRoundTripsAll256NibblePairs()
    {
        // Pair (h, l) for every h, l in 0..15; the byte must be 16h + l (first element in the high nibble).
        var codes = Enumerable.Range(0, 256).SelectMany(b => new long[] { b / 16, b % 16 }).ToArray();
        using var input = tensor(codes);
        using var packed = NibblePacking.Pack(input);
        Assert.Equal(ScalarType.Byte, packed.dtype);
        Assert.Equal(Enumerable.Range(0, 256).Select(b => (byte)b), packed.data<byte>().ToArray());
        using var unpacked = NibblePacking.Unpack(packed);
        Assert.Equal(ScalarType.Byte, unpacked.dtype);
        Assert.Equal(codes.Select(c => (byte)c), unpacked.data<byte>().ToArray());
    }

    [Fact]
    public void AllZeroWeightQuantizesToZeros()
    {
        using var weight = zeros(8, 64);
        using var q = QuantizedWeight.Quantize(weight);
        using var back = q.Dequantize();
        Assert.Equal(0f, back.abs().max().item<float>());
    }

    [Fact]
    public void BFloat16DequantizationIsTheFp32OneRounded()
    {
        using var weight = Gaussian(new long[] { 96, 128 }, seed: 5);
        foreach (bool doubleQuant in new[] { false, true })
        {
            using var q = QuantizedWeight.Quantize(weight, new QuantizationOptions { DoubleQuant = doubleQuant });
            using var fp32 = q.Dequantize(ScalarType.Float32);
            using var bf16 = q.Dequantize(ScalarType.BFloat16);
            using var rounded = fp32.to(ScalarType.BFloat16);
            Assert.True(Same(rounded, bf16));
        }
    }

    [Fact]
    public void QuantizesBFloat16AndFloat16Weights()
    {
        using var weight = Gaussian(new long[] { 64, 64 }, seed: 6);
        using var q32 = QuantizedWeight.Quantize(weight);
        using var expected = q32.Dequantize();
        foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float16 })
        {
            using var low = weight.to(dtype);
            using var q = QuantizedWeight.Quantize(low);
            using var back = q.Dequantize();
            // The weight differs by its own rounding (2^-8 relative for bf16), so the codes nearly all agree.
            Assert.True(RelativeError(back, expected) < 0.03, $"{dtype}: {RelativeError(back, expected)}");
        }
    }
}
