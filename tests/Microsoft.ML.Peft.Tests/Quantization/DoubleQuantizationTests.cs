using Microsoft.ML.Peft.Quantization;
using Xunit.Abstractions;
using static Microsoft.ML.Peft.Tests.Quantization.QuantizationTestData;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Quantization;

public class DoubleQuantizationTests(ITestOutputHelper output)
{
    [Fact]
    public void DoubleQuantizationAddsOnlyATinyError()
    {
        using var weight = Gaussian(new long[] { 1000, 1024 }, seed: 42);   // 16,000 blocks of 64
        using var plain = QuantizedWeight.Quantize(weight, new QuantizationOptions { DoubleQuant = false });
        using var dq = QuantizedWeight.Quantize(weight, new QuantizationOptions { DoubleQuant = true });

        // Same codes: double quantization only touches the scales.
        Assert.True(Same(plain.Packed, dq.Packed));

        using var exact = plain.BlockScales();
        using var approx = dq.BlockScales();
        double maxRelative = approx.sub(exact).abs().div(exact).max().item<float>();
        // A step is max|absmax - mean| / 127 per 256 blocks; rounding is at most half of it (~0.4% of a typical absmax).
        Assert.True(maxRelative < 0.01, $"max relative absmax change {maxRelative}");

        using var backPlain = plain.Dequantize();
        using var backDq = dq.Dequantize();
        double maePlain = Mae(backPlain, weight), maeDq = Mae(backDq, weight);
        output.WriteLine($"absmax max relative change {maxRelative:E3}; MAE {maePlain:F6} -> {maeDq:F6} ({(maeDq - maePlain) / maePlain:P3})");
        Assert.True(Math.Abs(maeDq - maePlain) < 0.002 * maePlain, $"MAE {maePlain} -> {maeDq}");
    }

    [Fact]
    public void BitsPerParameterFigures()
    {
        // 8/64 for the int8 absmax codes + 32/(64*256) for one fp32 scale per 256 codes = 0.126953125.
        Assert.Equal(0.126953125, QuantizedWeight.OverheadBitsPerParameter(64, doubleQuant: true, 256));
        Assert.Equal(0.5, QuantizedWeight.OverheadBitsPerParameter(64, doubleQuant: false));

        using var weight = Gaussian(new long[] { 1024, 1024 }, seed: 1);   // 16,384 blocks = 64 groups of 256
        using var plain = QuantizedWeight.Quantize(weight, new QuantizationOptions { DoubleQuant = false });
        using var dq = QuantizedWeight.Quantize(weight);
        Assert.Equal(4.5, plain.BitsPerParameter);
        Assert.Equal(524_288 + 16_384 + 64 * 4 + 4, dq.Bytes);
        // The stored bytes add only the 4-byte mean over the layout figure.
        Assert.Equal(4 + 0.126953125 + 32.0 / (1024 * 1024), dq.BitsPerParameter, 12);
    }

    [Fact]
    public void PartialLastGroupAndConstantScalesRoundTrip()
    {
        // 300 absmax values: one full group of 256 and a partial one of 44.
        using var absmax = linspace(0.5, 3.0, 300);
        using var state = DoubleQuantizedAbsmax.Quantize(absmax, 256);
        Assert.Equal(new long[] { 300 }, state.Codes.shape);
        Assert.Equal(new long[] { 2 }, state.Scales.shape);
        using var back = state.Dequantize();
        Assert.True(back.sub(absmax).abs().max().item<float>() <= state.Scales.max().item<float>() / 2 + 1e-6);

        // Constant absmax: every centred value is 0, the scale is 0, and reconstruction is exact.
        using var constant = full(512, 1.25f);
        using var constantState = DoubleQuantizedAbsmax.Quantize(constant);
        using var constantBack = constantState.Dequantize();
        Assert.True(Same(constant, constantBack));
    }
}
