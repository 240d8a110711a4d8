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

    /// <summary>Runs the decoder on new tokens and returns next-token logits.</summary>
    /// <param name="inputIds">(B, T) int64 new token ids.</param>
    /// <param name="attentionMask">(B, past + T) 0/1 mask over cached and new tokens; null when nothing is padded.</param>
    /// <param name="positionIds">(B, T) positions; derived from the mask (or the cache length) when null.</param>
    /// <param name="cache">Keys and values of earlier tokens, extended in place with the new ones; null for no cache.</param>
    /// <returns>(B, T, vocab) logits.</returns>
    Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null);
}
