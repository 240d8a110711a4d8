using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Common;

/// <summary>
/// Inverted dropout that is cheap on the CPU: the mask comes from <see cref="DropoutMask"/> instead of libtorch's
/// element-at-a-time Bernoulli sampler. On other devices, or for types the mask does not cover, it is libtorch's
/// dropout. Every model and adapter of this library drops out through here.
/// </summary>
public static class FastDropout
{
    // One native scalar for every call: an implicit conversion would make a new one each time, freed only when collected.
    static readonly Scalar One = 1.ToScalar();

    /// <summary>
    /// <paramref name="x"/> with each element zeroed with probability <paramref name="p"/> and the rest scaled by
    /// 1 / (1 - p) when <paramref name="training"/>; otherwise a new handle on <paramref name="x"/> itself (so callers
    /// may dispose the result and the input independently).
    /// </summary>
    public static Tensor Apply(Tensor x, double p, bool training)
    {
        if (!training || p == 0) return x.alias();
        if (!DropoutMask.Covers(x) || p >= 1) return nn.functional.dropout(x, p, true);
        using var mask = DropoutMask.Sample(x.shape, p, x.dtype);
        return x.mul(mask);
    }

    /// <summary>
    /// <paramref name="residual"/> + dropout(<paramref name="x"/>), as <see cref="Apply"/> drops out. With a sampled mask
    /// it is one <c>addcmul</c> (residual + x ⊙ mask): one pass over the tensors instead of a multiply and then an add,
    /// and no dropped copy of x in between.
    /// </summary>
    public static Tensor AddDropped(Tensor residual, Tensor x, double p, bool training)
    {
        if (!training || p == 0 || !DropoutMask.Covers(x) || p >= 1 || x.dtype != residual.dtype || !x.shape.SequenceEqual(residual.shape))
        {
            using var dropped = Apply(x, p, training);
            return residual + dropped;
        }
        using var mask = DropoutMask.Sample(x.shape, p, x.dtype);
        return residual.addcmul(x, mask, One);
    }
}

/// <summary>A module form of <see cref="FastDropout"/>; active in <c>train()</c> mode only, like <c>nn.Dropout</c>.</summary>
public sealed class FastDropoutLayer : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing an element, in [0, 1].</param>
    public FastDropoutLayer(double p) : base("Dropout")
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "The dropout probability must be in [0, 1].");
        P = p;
    }

    /// <summary>Probability of zeroing an element.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => FastDropout.Apply(input, P, training);

    /// <summary><paramref name="residual"/> + this dropout of <paramref name="x"/> (see <see cref="FastDropout.AddDropped"/>).</summary>
    public Tensor AddDropped(Tensor residual, Tensor x) => FastDropout.AddDropped(residual, x, P, training);
}
