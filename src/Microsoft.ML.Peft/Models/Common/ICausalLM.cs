using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// A decoder-only language model with a next-token head (GPT-2, LLaMA, Mistral, Qwen2), as generation sees it.
/// </summary>
public interface ICausalLM
{
    /// <summary>Number of rows of the output head.</summary>
    int VocabSize { get; }

    /// <summary>Number of decoder layers, i.e. of <see cref="KvCache"/> entries.</summary>
    int NumLayers { get; }

    /// <summary>Longest sequence (prompt + generated) the model supports (<c>n_positions</c> / <c>max_position_embeddings</c>).</summary>
    int MaxPositions { get; }

    /// <summary>End-of-sequence ids from <c>config.json</c> (several for some models); empty when it states none.</summary>
    IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Padding id from <c>config.json</c>, when it states one.</summary>
    int? PadTokenId { get; }

    /// <summary>The device of the parameters.</summary>
    Device Device { get; }

    /// <summary>
    /// Runs the decoder on new tokens and returns next-token logits. With a prompt-learning method applied (prompt
    /// tuning, P-Tuning, prefix tuning) callers pass the same ids and masks as without one: the decoder adds the prompt's
    /// positions itself, and on the prefill step (no cache, or an empty one) the logits also cover the n virtual tokens
    /// put in front, as in PEFT; <see cref="Tasks.Generation.CausalLmLoss"/> gives them label -100.
    /// </summary>
    /// <param name="inputIds">(B, T) int64 new token ids.</param>
    /// <param name="attentionMask">(B, past + T) 0/1 mask over the caller's cached and new tokens (never the prompt's); null when nothing is padded.</param>
    /// <param name="positionIds">(B, T) positions; derived from the mask (or the cache length) when null.</param>
    /// <param name="cache">Keys and values of earlier tokens, extended in place with the new ones; null for no cache.</param>
    /// <returns>(B, n + T, vocab) logits; n = 0 unless a prompt method put virtual tokens in front on this step.</returns>
    Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null);

    /// <summary>
    /// The next-token logits of the last position alone: the last row of <see cref="forward"/>'s logits, with the head
    /// run on that row only. Generation needs no other row, and over a whole prompt the head is the largest product for
    /// a large vocabulary: GPT-2's 50,257 rows are about a third of its prefill FLOPs, and (B, T, vocab) logits would be
    /// allocated only to be dropped.
    /// </summary>
    /// <param name="inputIds">(B, T) int64 new token ids.</param>
    /// <param name="attentionMask">As in <see cref="forward"/>.</param>
    /// <param name="positionIds">As in <see cref="forward"/>.</param>
    /// <param name="cache">As in <see cref="forward"/>.</param>
    /// <returns>(B, vocab) logits of each row's last position.</returns>
    /// <remarks>This default runs the head on every position; the library's decoders override it.</remarks>
    Tensor LastLogits(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var logits = forward(inputIds, attentionMask, positionIds, cache);  // (B, n + T, vocab)
        return logits.select(1, -1);
    }
}
