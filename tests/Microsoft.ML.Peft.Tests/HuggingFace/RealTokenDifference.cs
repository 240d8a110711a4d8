using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// The comparison every Hugging Face parity test makes: the largest |ours - reference| over real tokens. Padded
/// positions are implementation-defined (they attend to nothing real) and are left out; virtual tokens that a
/// prompt method put in front count as real.
/// </summary>
internal static class RealTokenDifference
{
    /// <summary>Asserts that <paramref name="ours"/> is within <paramref name="tolerance"/> of <paramref name="reference"/>; returns the largest difference.</summary>
    /// <param name="ours">(B, n + T, …) float tensor; n virtual tokens in front.</param>
    /// <param name="reference">The same shape.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask of the caller's tokens.</param>
    /// <param name="what">What is compared, for the message, e.g. "ours - PEFT".</param>
    /// <param name="where">The fixture and the versions that wrote it, for the message.</param>
    public static double AssertWithin(Tensor ours, Tensor reference, Tensor attentionMask, double tolerance, string what, string where)
    {
        using var scope = NewDisposeScope();
        var perToken = PerToken(ours, reference, attentionMask, where);
        double max = perToken.max().item<float>();
        if (!(max < tolerance))
        {
            long flat = perToken.reshape(-1).argmax().item<long>(), length = perToken.shape[1];
            Assert.Fail($"{where}: max |{what}| over real tokens is {max:G3} (tolerance {tolerance:G3}), largest at row {flat / length}, position {flat % length}.");
        }
        return max;
    }

    /// <summary>The largest |ours - reference| over real tokens, without a tolerance (parameters as <see cref="AssertWithin"/>'s).</summary>
    public static double Max(Tensor ours, Tensor reference, Tensor attentionMask, string where)
    {
        using var scope = NewDisposeScope();
        return PerToken(ours, reference, attentionMask, where).max().item<float>();
    }

    // (B, n + T) largest difference per token, 0 at padded positions; asserts equal shapes and at least one real token.
    static Tensor PerToken(Tensor ours, Tensor reference, Tensor attentionMask, string where)
    {
        Assert.True(ours.shape.SequenceEqual(reference.shape),
            $"{where}: shape [{string.Join(", ", ours.shape)}], the reference's [{string.Join(", ", reference.shape)}].");
        long virtualTokens = ours.shape[1] - attentionMask.shape[1];
        var real = attentionMask.eq(1);
        if (virtualTokens > 0) real = cat(new[] { ones(real.shape[0], virtualTokens, ScalarType.Bool), real }, 1);
        Assert.True(real.any().item<bool>(), $"{where}: the attention mask has no real token, so nothing would be compared.");
        var perToken = (ours.to(ScalarType.Float32) - reference.to(ScalarType.Float32)).abs().flatten(2).amax(new long[] { -1 });
        return perToken.masked_fill(real.logical_not(), 0);
    }
}
