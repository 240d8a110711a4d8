using Microsoft.ML.Peft.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// Rotary position embedding (RoPE) in Hugging Face LLaMA's "rotate half" convention: a head vector's dimension
/// <c>i</c> pairs with <c>i + d/2</c> (not with its neighbour, as in the original paper), and the pair is rotated by
/// angle <c>position · θ^(−2i/d)</c>. Rotating queries and keys this way makes <c>q·k</c> depend on positions only
/// through their difference. The frequencies are not parameters (HF keeps them as a non-persistent buffer), so the
/// state dict does not contain them.
/// </summary>
public sealed class RotaryEmbedding
{
    readonly int headDim;
    readonly double theta;
    readonly RopeScaling? scaling;
    readonly int maxPositions;
    readonly double[] baseFrequencies;

    /// <summary>Creates the embedding.</summary>
    /// <param name="headDim">Width of a head (even).</param>
    /// <param name="theta">Frequency base (<c>rope_theta</c>).</param>
    /// <param name="scaling">Context-extension scaling (<c>rope_scaling</c>), or null.</param>
    /// <param name="maxPositions">Trained context length (<c>max_position_embeddings</c>).</param>
    public RotaryEmbedding(int headDim, double theta, RopeScaling? scaling = null, int maxPositions = 2048)
    {
        if (headDim <= 0 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "The head width must be positive and even.");
        this.headDim = headDim;
        this.theta = theta;
        this.scaling = scaling;
        this.maxPositions = maxPositions;
        baseFrequencies = Frequencies(theta);
        if (scaling?.Method == "llama3") baseFrequencies = Llama3(baseFrequencies, scaling);
    }

    double[] Frequencies(double thetaBase) =>
        Enumerable.Range(0, headDim / 2).Select(i => 1.0 / Math.Pow(thetaBase, 2.0 * i / headDim)).ToArray();

    // LLaMA 3.1: long wavelengths (beyond the original context) are slowed by the factor, short ones kept,
    // and those in between blended smoothly.
    static double[] Llama3(double[] frequencies, RopeScaling s)
    {
        double low = s.LowFreqFactor ?? 1.0, high = s.HighFreqFactor ?? 4.0, original = s.OriginalMaxPositionEmbeddings ?? 8192;
        return frequencies.Select(f =>
        {
            double wavelength = 2 * Math.PI / f;
            if (wavelength < original / high) return f;
            if (wavelength > original / low) return f / s.Factor;
            double smooth = (original / wavelength - low) / (high - low);
            return (1 - smooth) * f / s.Factor + smooth * f;
        }).ToArray();
    }

    /// <summary>The rotation angles' cosines and sines for the given positions.</summary>
    /// <param name="positionIds">(B, T) int64 positions.</param>
    /// <param name="dtype">Type of the result (the activations' type); angles are computed in float32.</param>
    /// <returns>(B, T, head_dim) cosines and sines; the caller owns them.</returns>
    public (Tensor Cos, Tensor Sin) CosSin(Tensor positionIds, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        double[] frequencies = baseFrequencies;
        var positions = positionIds.to(ScalarType.Float32);
        switch (scaling?.Method)
        {
            case "linear":
                positions = positions / scaling.Factor;
                break;
            case "dynamic":
                // NTK-aware: once the sequence outgrows the trained context, raise the base so the lowest frequency still fits.
                long length = positionIds.max().item<long>() + 1;
                if (length > maxPositions)
                {
                    double grown = theta * Math.Pow(scaling.Factor * length / maxPositions - (scaling.Factor - 1), headDim / (headDim - 2.0));
                    frequencies = Frequencies(grown);
                }
                break;
        }
        var inverse = torch.tensor(frequencies.Select(f => (float)f).ToArray(), device: positionIds.device);   // (d/2)
        var angles = positions.unsqueeze(-1) * inverse;                                                         // (B, T, d/2)
        var doubled = torch.cat(new[] { angles, angles }, -1);                                                  // (B, T, d)
        return (doubled.cos().to(dtype).MoveToOuterDisposeScope(), doubled.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>Rotates query or key heads.</summary>
    /// <param name="x">(B, heads, T, head_dim).</param>
    /// <param name="cos">(B, T, head_dim) from <see cref="CosSin"/>.</param>
    /// <param name="sin">(B, T, head_dim) from <see cref="CosSin"/>.</param>
    /// <returns>(B, heads, T, head_dim).</returns>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var c = cos.unsqueeze(1);                                                                               // broadcast over heads
        var s = sin.unsqueeze(1);
        return (x * c + RotateHalf(x) * s).MoveToOuterDisposeScope();
    }

    /// <summary><c>[x1, x2] → [−x2, x1]</c> on the halves of the last dimension.</summary>
    public static Tensor RotateHalf(Tensor x)
    {
        long half = x.shape[^1] / 2;
        using var first = x.narrow(-1, 0, half);
        using var second = x.narrow(-1, half, half);
        using var negated = second.neg();
        return torch.cat(new[] { negated, first }, -1);
    }
}
