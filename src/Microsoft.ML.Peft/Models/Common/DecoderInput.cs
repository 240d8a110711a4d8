using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// A decoder step's input after a prompt-learning method has had its say, shared by GPT-2 and LLaMA. On the prefill
/// step (no cache, or an empty one) an <see cref="IDecoderPrompt"/> may put virtual token embeddings before the real
/// tokens and preload a key/value prefix into the cache (a transient cache when the caller runs without one, as in
/// training). On every step the caller's attention mask, which covers only the caller's tokens, gains ones in front
/// for the prompt positions, and position ids count the prompt first: virtual tokens take 0..n-1 and the real tokens
/// follow; after a prefix of P the real tokens start at P, as PEFT runs prefix tuning through Hugging Face's cache.
/// Owns the mask, positions and transient cache it made; the embeddings belong to the caller's dispose scope.
/// </summary>
internal sealed class DecoderInput : IDisposable
{
    readonly bool ownsCache;

    DecoderInput(Tensor embeddings, Tensor? attentionMask, Tensor positions, KvCache? cache, bool ownsCache, long virtualTokens)
    {
        Embeddings = embeddings;
        AttentionMask = attentionMask;
        Positions = positions;
        Cache = cache;
        this.ownsCache = ownsCache;
        VirtualTokens = virtualTokens;
        Past = cache?.Length ?? 0;
    }

    /// <summary>(B, n + T, hidden): the virtual tokens (prefill only) and the token embeddings.</summary>
    public Tensor Embeddings { get; }

    /// <summary>(B, Past + n + T) 0/1 mask over cached and new positions, or null when the caller gave none.</summary>
    public Tensor? AttentionMask { get; }

    /// <summary>(B, n + T) int64 position ids of the new positions.</summary>
    public Tensor Positions { get; }

    /// <summary>The cache to run the layers with: the caller's, a transient one holding a prefix, or null.</summary>
    public KvCache? Cache { get; }

    /// <summary>Positions already cached (a preloaded prefix included) before the new ones.</summary>
    public long Past { get; }

    /// <summary>Number of new positions, n + T.</summary>
    public long Length => Embeddings.shape[1];

    /// <summary>n: virtual tokens put in front on this step (0 outside a prompt-tuning prefill).</summary>
    public long VirtualTokens { get; }

    /// <summary>Embeds <paramref name="inputIds"/> and applies <paramref name="prompt"/> when this is a prefill step.</summary>
    /// <param name="prompt">The decoder's prompt method, or null.</param>
    /// <param name="tokens">The token embedding table.</param>
    /// <param name="inputIds">(B, T) new token ids.</param>
    /// <param name="attentionMask">(B, past tokens of the caller + T) 0/1 mask, or null.</param>
    /// <param name="positionIds">(B, T) positions counted over the caller's tokens, or null to derive them.</param>
    /// <param name="cache">The caller's cache, or null.</param>
    /// <param name="layers">Number of decoder layers (of cache entries).</param>
    /// <exception cref="InvalidOperationException">The prompt's prefix does not have one entry per layer.</exception>
    public static DecoderInput Prepare(IDecoderPrompt? prompt, Embedding tokens, Tensor inputIds, Tensor? attentionMask,
                                       Tensor? positionIds, KvCache? cache, int layers)
    {
        long batch = inputIds.shape[0];
        var device = inputIds.device;
        var embeddings = tokens.forward(inputIds);                                                   // (B, T, hidden)
        var working = cache;
        bool owns = false;
        long promptCached = cache?.PromptLength ?? 0, virtualTokens = 0;
        if (prompt is not null && (cache is null || cache.Length == 0))
        {
            if (prompt.KeyValuePrefixes(batch) is { } prefixes)
            {
                if (prefixes.Count != layers)
                    throw new InvalidOperationException($"The prompt method gave key/value prefixes for {prefixes.Count} layers; the decoder has {layers}.");
                if (working is null) (working, owns) = (new KvCache(layers), true);
                for (int i = 0; i < layers; i++)                                                     // (B, kv_heads, P, head_dim) each
                    working.Append(i, prefixes[i].Key.to(embeddings.dtype), prefixes[i].Value.to(embeddings.dtype));
                promptCached = working.Length;
            }
            if (prompt.VirtualTokenEmbeddings(batch) is { } virtualEmbeddings)
            {
                virtualTokens = virtualEmbeddings.shape[1];
                embeddings = cat(new[] { virtualEmbeddings.to(embeddings.dtype), embeddings }, 1);   // (B, n + T, hidden)
            }
            if (working is not null) working.PromptLength = promptCached + virtualTokens;
        }

        long promptPositions = promptCached + virtualTokens;  // prompt positions before this step's real tokens
        Tensor? mask = attentionMask is null || promptPositions == 0 ? attentionMask?.alias()
            : cat(new[] { ones(batch, promptPositions, dtype: attentionMask.dtype, device: attentionMask.device), attentionMask }, 1);
        long length = embeddings.shape[1], past = working?.Length ?? 0;
        Tensor positions;
        if (positionIds is null) positions = DecoderMasks.PositionIds(mask, batch, length, past, device);
        else if (promptPositions == 0) positions = positionIds.alias();
        else positions = ShiftPositions(positionIds, promptPositions, virtualTokens, batch);
        return new DecoderInput(embeddings, mask, positions, working, owns, virtualTokens);
    }

    // The caller counts its tokens from 0; they follow the prompt's positions, and virtual tokens take 0..n-1.
    static Tensor ShiftPositions(Tensor positionIds, long promptPositions, long virtualTokens, long batch)
    {
        using var scope = NewDisposeScope();
        var shifted = positionIds.to(ScalarType.Int64) + promptPositions;                            // (B, T)
        if (virtualTokens > 0)
        {
            var front = arange(virtualTokens, dtype: ScalarType.Int64, device: positionIds.device).unsqueeze(0).expand(batch, virtualTokens);
            shifted = cat(new[] { front, shifted }, 1);                                              // (B, n + T)
        }
        return shifted.MoveToOuterDisposeScope();
    }

    /// <summary>Disposes the mask, the positions and a transient cache.</summary>
    public void Dispose()
    {
        AttentionMask?.Dispose();
        Positions.Dispose();
        if (ownsCache) Cache?.Dispose();
    }
}
