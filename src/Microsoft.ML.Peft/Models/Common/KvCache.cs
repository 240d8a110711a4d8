using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// Keys and values of the tokens a decoder has already seen, one pair per layer, so that each generation step
/// only runs the new tokens. Layout per layer: <c>(B, kv_heads, T, head_dim)</c>, keys after rotary embedding
/// (LLaMA) and before grouped-query expansion, so the cache holds <c>kv_heads</c>, not <c>heads</c>, rows.
/// The cache owns its tensors: they are detached from every dispose scope when stored and disposed when
/// replaced, reordered or when the cache is disposed; callers must not dispose what <see cref="Append"/> returns.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] keys, values;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="layers">Number of decoder layers.</param>
    public KvCache(int layers)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
    }

    /// <summary>Number of layers.</summary>
    public int Layers => keys.Length;

    /// <summary>Number of cached positions (those of the first layer; every layer holds the same after a full forward).</summary>
    public long Length => keys[0] is Tensor k ? k.shape[2] : 0;

    /// <summary>
    /// Number of leading cached positions that a prompt-learning method put there (virtual tokens or a key/value
    /// prefix) rather than the caller's tokens. Callers' attention masks never cover them; the decoder prepends ones
    /// for them on every step. Set by the decoder on the prefill step; 0 without a prompt.
    /// </summary>
    public long PromptLength { get; internal set; }

    /// <summary>Appends a step's keys and values to a layer along the time axis and returns the whole history.</summary>
    /// <param name="layer">Layer index.</param>
    /// <param name="newKeys">(B, kv_heads, T_new, head_dim).</param>
    /// <param name="newValues">(B, kv_heads, T_new, head_dim).</param>
    /// <returns>(B, kv_heads, T_past + T_new, head_dim) keys and values, owned by the cache.</returns>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor newKeys, Tensor newValues)
    {
        keys[layer] = Concat(keys[layer], newKeys);
        values[layer] = Concat(values[layer], newValues);
        return (keys[layer]!, values[layer]!);
    }

    /// <summary>The cached keys and values of a layer, or null when nothing is cached yet.</summary>
    /// <param name="layer">Layer index.</param>
    /// <returns>The pair, owned by the cache.</returns>
    public (Tensor Keys, Tensor Values)? Get(int layer) => keys[layer] is Tensor k ? (k, values[layer]!) : null;

    /// <summary>
    /// Selects batch rows, e.g. the parent beams of each surviving beam in beam search: row <c>i</c> of the
    /// result is row <c>rows[i]</c> of the cache.
    /// </summary>
    /// <param name="rows">(B') int64 row indices.</param>
    public void Reorder(Tensor rows)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = Replace(keys[i], t => t.index_select(0, rows.to(t.device)));
            values[i] = Replace(values[i], t => t.index_select(0, rows.to(t.device)));
        }
    }

    /// <summary>Disposes every cached tensor and empties the cache.</summary>
    public void Dispose()
    {
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i]?.Dispose();
            values[i]?.Dispose();
            keys[i] = values[i] = null;
        }
        PromptLength = 0;
    }

    static Tensor Concat(Tensor? past, Tensor next) =>
        past is null ? Own(next.alias()) : Replace(past, p => torch.cat(new[] { p, next }, 2))!;

    static Tensor? Replace(Tensor? old, Func<Tensor, Tensor> make)
    {
        if (old is null) return null;
        var made = Own(make(old));
        old.Dispose();
        return made;
    }

    // Detached from the caller's step scope so that the history survives the step that made it.
    static Tensor Own(Tensor t) => t.DetachFromDisposeScope();
}
