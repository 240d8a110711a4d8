using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// Turns next-token logits into the scores decoding picks from, in Hugging Face's order: repetition penalty,
/// then (sampling only) temperature, top-k and top-p. Every function takes and returns (B, V) float32 logits;
/// removed tokens get −∞.
/// </summary>
public static class LogitsProcessor
{
    /// <summary>
    /// Hugging Face's repetition penalty (CTRL paper): for every token id present in a row's sequence, a positive
    /// logit is divided by <paramref name="penalty"/> and a negative one multiplied, making it less likely either way.
    /// Padding (mask 0) does not count as present, so a left-padded row is penalized exactly like the row alone.
    /// </summary>
    /// <param name="logits">(B, V) logits.</param>
    /// <param name="sequences">(B, L) ids seen so far (prompt and generated).</param>
    /// <param name="mask">(B, L) 1 for real tokens, 0 for padding.</param>
    /// <param name="penalty">The penalty; 1 returns the logits unchanged.</param>
    /// <returns>(B, V) penalized logits (a new tensor).</returns>
    public static Tensor RepetitionPenalty(Tensor logits, Tensor sequences, Tensor mask, double penalty)
    {
        if (penalty == 1.0) return logits.alias();
        using var scope = NewDisposeScope();
        // scatter_add counts occurrences deterministically (a plain scatter of 0/1 values would race on repeats).
        var counts = zeros_like(logits).scatter_add_(1, sequences, mask.to(logits.dtype));   // (B, V)
        var penalized = where(logits.lt(0), logits * penalty, logits / penalty);
        return where(counts.gt(0), penalized, logits).MoveToOuterDisposeScope();
    }

    /// <summary>Keeps the <paramref name="k"/> largest logits of each row (ties with the k-th kept too).</summary>
    /// <param name="logits">(B, V) logits.</param>
    /// <param name="k">How many to keep; 0 or at least V keeps all.</param>
    /// <returns>(B, V) filtered logits.</returns>
    public static Tensor TopK(Tensor logits, int k)
    {
        if (k <= 0 || k >= logits.shape[1]) return logits.alias();
        using var scope = NewDisposeScope();
        var kth = logits.topk(k, dim: 1).values.narrow(1, k - 1, 1);                        // (B, 1)
        return logits.masked_fill(logits.lt(kth), double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Nucleus filter: keeps, per row, the most likely tokens until their probability reaches <paramref name="p"/>
    /// (the token that crosses p is kept, so at least one token always survives).
    /// </summary>
    /// <param name="logits">(B, V) logits.</param>
    /// <param name="p">Probability mass in (0, 1]; 1 keeps all.</param>
    /// <returns>(B, V) filtered logits.</returns>
    public static Tensor TopP(Tensor logits, double p)
    {
        if (p >= 1.0) return logits.alias();
        using var scope = NewDisposeScope();
        var (sorted, order) = logits.sort(dim: 1, descending: true);                         // (B, V) each
        var probs = sorted.softmax(1);
        var before = probs.cumsum(1) - probs;                                                // mass of strictly more likely tokens
        var removeSorted = before.ge(p);
        var remove = zeros_like(removeSorted).scatter(1, order, removeSorted);               // back to vocabulary order
        return logits.masked_fill(remove, double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// <summary>Applies the sampling filters of <paramref name="options"/>: temperature, then top-k, then top-p.</summary>
    /// <param name="logits">(B, V) logits, already penalized.</param>
    /// <param name="options">The options.</param>
    /// <returns>(B, V) logits to sample from.</returns>
    public static Tensor ForSampling(Tensor logits, GenerationOptions options)
    {
        using var scope = NewDisposeScope();
        var scaled = options.Temperature == 1.0 ? logits : logits / options.Temperature;
        return TopP(TopK(scaled, options.TopK), options.TopP).MoveToOuterDisposeScope();
    }
}
