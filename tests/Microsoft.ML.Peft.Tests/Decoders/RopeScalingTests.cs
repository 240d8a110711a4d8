using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Decoders;

public sealed class RopeScalingTests
{
    static (Tensor Cos, Tensor Sin) At(RotaryEmbedding rope, params long[] positions) =>
        rope.CosSin(torch.tensor(positions).unsqueeze(0), ScalarType.Float32);

    [Fact]
    public void DynamicScalingChangesNothingWithinTheTrainedContext()
    {
        var dynamic = new RotaryEmbedding(8, 10000, new RopeScaling { Type = "dynamic", Factor = 2 }, maxPositions: 16);
        var plain = new RotaryEmbedding(8, 10000, null, 16);
        using var scope = NewDisposeScope();
        Assert.True(At(dynamic, 0, 5, 15).Cos.allclose(At(plain, 0, 5, 15).Cos));
        // Beyond it the base grows, so the slowest rotation turns less than without scaling.
        var (grown, _) = At(dynamic, 31);
        var (unscaled, _) = At(plain, 31);
        Assert.False(grown.allclose(unscaled, 1e-3, 1e-3));
    }

    [Fact]
    public void Llama3ScalingKeepsFastFrequenciesAndSlowsSlowOnes()
    {
        // head_dim 64, base 500000 (LLaMA 3.1): the fastest pair rotates once per ~6 positions (kept); the
        // slowest one's wavelength far exceeds 8192/1 (divided by the factor 8).
        var scaled = new RotaryEmbedding(64, 500000, new RopeScaling { RopeType = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 });
        var plain = new RotaryEmbedding(64, 500000);
        using var scope = NewDisposeScope();
        var (s, _) = At(scaled, 1000);
        var (p, _) = At(plain, 1000);
        Assert.Equal(p[0, 0, 0].item<float>(), s[0, 0, 0].item<float>(), 5);                 // fastest: unchanged
        var (slowScaled, _) = At(scaled, 8000);
        var (slowPlain, _) = At(plain, 1000);                                                  // 8000 / 8 = 1000
        Assert.Equal(slowPlain[0, 0, 31].item<float>(), slowScaled[0, 0, 31].item<float>(), 4);   // slowest: positions / 8
    }
}
