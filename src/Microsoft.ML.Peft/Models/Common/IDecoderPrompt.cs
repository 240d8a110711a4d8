using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// What a prompt-learning method (prompt tuning, P-Tuning, prefix tuning) feeds into a decoder
/// (<see cref="Gpt2.Gpt2Model"/>, <see cref="Llama.LlamaModel"/>). Set it as the decoder's <c>Prompt</c>; the decoder
/// asks for it on the first (prefill) forward of a sequence only, so a cached generation injects it once.
/// </summary>
public interface IDecoderPrompt
{
    /// <summary>(B, n, hidden) virtual token embeddings to put before the real tokens' embeddings, or null for none.</summary>
    Tensor? VirtualTokenEmbeddings(long batchSize);

    /// <summary>
    /// Per layer, prefix keys and values to preload into the KV cache, each (B, kv_heads, P, head_dim) — the cache's
    /// layout: key/value heads (GQA), keys as attention sees them (no rotary embedding applied). Null for none.
    /// </summary>
    IReadOnlyList<(Tensor Key, Tensor Value)>? KeyValuePrefixes(long batchSize);
}
