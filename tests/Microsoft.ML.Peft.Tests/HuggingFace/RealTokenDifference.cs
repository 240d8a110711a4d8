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
        Assert.True(ours.shape.SequenceEqual(reference.shape),
            $"{where}: shape [{string.Join(", ", ours.shape)}], the reference's [{string.Join(", ", reference.shape)}].");
        long virtualTokens = ours.shape[1] - attentionMask.shape[1];
        var real = attentionMask.eq(1);
        if (virtualTokens > 0) real = cat(new[] { ones(real.shape[0], virtualTokens, ScalarType.Bool), real }, 1);
        Assert.True(real.any().item<bool>(), $"{where}: the attention mask has no real token, so nothing would be compared.");

        var perToken = (ours.to(ScalarType.Float32) - reference.to(ScalarType.Float32)).abs().flatten(2).amax(new long[] { -1 });   // (B, n + T)
        perToken = perToken.masked_fill(real.logical_not(), 0);
        double max = perToken.max().item<float>();
        if (!(max < tolerance))
        {
            long flat = perToken.reshape(-1).argmax().item<long>(), length = perToken.shape[1];
            Assert.Fail($"{where}: max |{what}| over real tokens is {max:G3} (tolerance {tolerance:G3}), largest at row {flat / length}, position {flat % length}.");
        }
        return max;
    }
}
