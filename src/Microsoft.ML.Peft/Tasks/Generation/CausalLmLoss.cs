using Microsoft.ML.Peft.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>
/// Next-token cross-entropy of a causal language model, the loss of every generation estimator and of the
/// shipped decoder's pretraining. Token <c>t</c>'s logits predict label <c>t + 1</c>; labels equal to
/// <see cref="IgnoreIndex"/> (padding, prompt tokens under completion-only training, virtual tokens) count for nothing.
/// </summary>
public static class CausalLmLoss
{
    /// <summary>The label value that is left out of the loss, as in PyTorch and Hugging Face.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Mean next-token negative log-likelihood over the labelled tokens.</summary>
    /// <param name="model">The decoder.</param>
    /// <param name="inputIds">(B, T) int64 ids.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask, or null when nothing is padded.</param>
    /// <param name="labels">(B, T) int64 labels, usually the ids with <see cref="IgnoreIndex"/> where no loss is wanted.</param>
    /// <returns>A scalar float32 tensor with its autograd graph.</returns>
    public static Tensor Mean(ICausalLM model, Tensor inputIds, Tensor? attentionMask, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (logits, targets) = Shifted(model, inputIds, attentionMask, labels);
        return nn.functional.cross_entropy(logits, targets, ignore_index: IgnoreIndex).MoveToOuterDisposeScope();
    }

    /// <summary>Summed negative log-likelihood and the number of labelled tokens (for perplexity over many batches).</summary>
    /// <param name="model">The decoder.</param>
    /// <param name="inputIds">(B, T) int64 ids.</param>
    /// <param name="attentionMask">(B, T) 0/1 mask, or null.</param>
    /// <param name="labels">(B, T) int64 labels.</param>
    /// <returns>The sum of −log p over labelled tokens, and their count.</returns>
    public static (double Nll, long Tokens) Sum(ICausalLM model, Tensor inputIds, Tensor? attentionMask, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (logits, targets) = Shifted(model, inputIds, attentionMask, labels);
        var nll = nn.functional.cross_entropy(logits, targets, ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum);
        long count = targets.ne(IgnoreIndex).sum().item<long>();
        return (nll.item<float>(), count);
    }

    // Returns (N, V) float32 logits of positions 0..T'-2 and the (N) labels of positions 1..T'-1, T' = n + T.
    // A prompt-learning method (prompt tuning, P-Tuning) puts n virtual tokens in front, so the logits are longer than
    // the labels; as PEFT does, the labels gain n × IgnoreIndex in front: no virtual position is a target, and the last
    // virtual token's logits predict the first real token.
    static (Tensor Logits, Tensor Targets) Shifted(ICausalLM model, Tensor inputIds, Tensor? attentionMask, Tensor labels)
    {
        if (inputIds.dim() != 2 || !inputIds.shape.SequenceEqual(labels.shape))
            throw new ArgumentException($"Input ids and labels must both be (batch, time); got [{string.Join(", ", inputIds.shape)}] and [{string.Join(", ", labels.shape)}].");
        var logits = model.forward(inputIds, attentionMask);                    // (B, n + T, V)
        long vocab = logits.shape[2], virtualTokens = logits.shape[1] - labels.shape[1];
        if (virtualTokens < 0)
            throw new InvalidOperationException($"The model returned logits for {logits.shape[1]} positions, fewer than the {labels.shape[1]} input tokens.");
        if (virtualTokens > 0)
            labels = torch.cat(new[] { torch.full(labels.shape[0], virtualTokens, IgnoreIndex, dtype: labels.dtype, device: labels.device), labels }, 1);  // (B, n + T)
        var head = logits[.., ..^1, ..].reshape(-1, vocab).to_type(ScalarType.Float32);   // (B·(n+T-1), V)
        var targets = labels[.., 1..].reshape(-1);                                     // (B·(n+T-1))
        return (head, targets);
    }
}
