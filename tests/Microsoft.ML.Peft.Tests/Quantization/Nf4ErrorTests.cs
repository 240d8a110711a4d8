using Microsoft.ML.Peft.Quantization;
using Xunit.Abstractions;
using static Microsoft.ML.Peft.Tests.Quantization.QuantizationTestData;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Quantization;

public class Nf4ErrorTests(ITestOutputHelper output)
{
    [Fact]
    public void GaussianRoundTripErrorMatchesTheory()
    {
        double expected = Nf4Theory.ExpectedMae(64);
        // The literature puts NF4's error at block 64 near 0.07-0.08 of the weights' std; the integral must agree.
        Assert.InRange(expected, 0.06, 0.085);

        using var weight = Gaussian(new long[] { 1000, 1024 }, seed: 42);   // 1,024,000 values = 16,000 blocks
        using var q = QuantizedWeight.Quantize(weight, new QuantizationOptions { DoubleQuant = false });
        using var back = q.Dequantize();
        double mae = Mae(back, weight);
        output.WriteLine($"NF4 block 64, N(0,1): measured MAE {mae:F6}, integral {expected:F6}, ratio {mae / expected:F5}");
        // Band: per-element |error| has a std of about 0.6x the MAE, so over ~1M values the sampling error of
        // the mean is ~0.06% (a little more with the shared absmax of a block); the integral's own error is
        // far smaller. ±1% is >10 standard errors wide and still fails for a wrong code, midpoint or scale.
        Assert.InRange(mae / expected, 0.99, 1.01);
    }

    [Fact]
    public void ErrorGrowsWithBlockSize()
    {
        // Larger blocks have larger absmax relative to the typical value, so coarser effective steps.
        using var weight = Gaussian(new long[] { 256, 1024 }, seed: 3);
        double previous = 0;
        foreach (int block in new[] { 32, 64, 256, 4096 })
        {
            using var q = QuantizedWeight.Quantize(weight, new QuantizationOptions { BlockSize = block, DoubleQuant = false });
            using var back = q.Dequantize();
            double mae = Mae(back, weight);
            Assert.True(mae > previous, $"block {block}: MAE {mae} not above {previous}");
            // 262,144 values: at least 1,024 blocks up to block 256, enough for a ±2% band; 4096 has only 64 blocks.
            if (block <= 256) Assert.InRange(mae / Nf4Theory.ExpectedMae(block), 0.98, 1.02);
            previous = mae;
        }
    }
}
