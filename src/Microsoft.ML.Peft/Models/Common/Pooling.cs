using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>Sentence embeddings from token states.</summary>
public static class Pooling
{
    /// <summary>
    /// Mean of the real tokens' states (sentence-transformers' mean pooling): padding is excluded by the mask.
    /// </summary>
    /// <param name="hidden">(B, T, H) token states.</param>
    /// <param name="attentionMask">(B, T) 1 for real tokens, 0 for padding.</param>
    /// <returns>(B, H).</returns>
    public static Tensor Mean(Tensor hidden, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var mask = attentionMask.unsqueeze(-1).to(hidden.dtype);              // (B, T, 1)
        var sum = (hidden * mask).sum(1);                                     // (B, H)
        var count = mask.sum(1).clamp_min(1e-9);                              // (B, 1)
        return (sum / count).MoveToOuterDisposeScope();
    }
}
