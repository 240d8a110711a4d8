using Microsoft.ML.Peft.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// Multi-head self-attention projections and scaled dot-product attention.
/// HF names: <c>attention.self.query</c>, <c>.key</c>, <c>.value</c>.
/// </summary>
public sealed class BertSelfAttention : nn.Module
{
    // Typed as the module interface, not Linear: ModuleSurgery may swap in a Linear4bit (QLoRA) under the same name.
    readonly nn.Module<Tensor, Tensor> query, key, value;
    readonly int heads, headDim;
    readonly double dropoutProbability;

    /// <summary>Creates the projections for <paramref name="config"/>.</summary>
    public BertSelfAttention(BertConfig config) : base("self")
    {
        heads = config.NumAttentionHeads;
        headDim = config.HeadDim;
        dropoutProbability = config.AttentionProbsDropoutProb;
        query = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModelConstruction.LinearDevice);
        key = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModelConstruction.LinearDevice);
        value = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModelConstruction.LinearDevice);
        RegisterComponents();
    }

    /// <summary>Attends over the sequence; returns the context (B, T, hidden) before the output projection.</summary>
    /// <param name="hidden">(B, T, hidden) input states.</param>
    /// <param name="mask">(B, 1, 1 or T, T) boolean mask, true where a key may be attended to; null attends everywhere.</param>
    /// <param name="prefix">
    /// Optional key/value prefix (prefix tuning), each (B, heads, P, head_dim): prepended to this layer's keys and
    /// values and always attendable; the queries stay those of the real positions, so the output keeps its shape.
    /// </param>
    /// <param name="firstTokenOnly">
    /// Whether only the first position needs a context: every position still gives a key and a value, but only the
    /// first a query, and the result is (B, 1, hidden). The classification heads read one position of the last block.
    /// </param>
    public Tensor forward(Tensor hidden, Tensor? mask, KeyValuePrefix? prefix = null, bool firstTokenOnly = false)
    {
        long batch = hidden.shape[0], length = hidden.shape[1], queries = firstTokenOnly ? 1 : length;
        // call() rather than forward(): call runs the module's forward hooks, through which adapters
        // such as LoRA add their term while the Linear (and its state-dict key) stays in place.
        // Intermediates are released as soon as they are used (autograd keeps what it saved by itself), so that
        // inference does not hold every projection of the layer at once.
        // A contiguous copy, not the strided view: the projection of the view was not bit-reproducible from one model
        // instance to another (the save-and-reload tests caught it), the copy's is.
        using var first = firstTokenOnly ? FirstPosition(hidden) : null;  // (B, 1, hidden)
        using var qAll = RowLinear.Call(query, first ?? hidden);
        using var kAll = RowLinear.Call(key, hidden);
        using var vAll = RowLinear.Call(value, hidden);
        using var q = SplitHeads(qAll, batch, queries);  // (B, heads, 1 or T, head_dim)
        using var kOwn = SplitHeads(kAll, batch, length);
        using var vOwn = SplitHeads(vAll, batch, length);
        // A per-query mask (B, 1, T, T) keeps the first query's row.
        using var queryMask = firstTokenOnly && mask is not null && mask.dim() == 4 && mask.shape[2] > 1 ? mask.narrow(2, 0, 1) : null;
        // Prefix tuning puts per-layer trainable keys/values in front: (B, heads, P + T, head_dim), key mask extended.
        var (k, v, keyMask) = prefix is null ? (kOwn, vOwn, queryMask ?? mask) : prefix.Prepend(kOwn, vOwn, queryMask ?? mask);
        // The fused kernel scales by 1/sqrt(head_dim) and applies the boolean mask; its dropout is
        // the attention-probability dropout of the paper, active only in training.
        using var context = AttentionKernel.ScaledDotProduct(q, k, v, keyMask, dropoutProbability, training);
        using var heads_ = context.transpose(1, 2);
        return heads_.reshape(batch, queries, heads * headDim);  // (B, 1 or T, hidden)
    }

    Tensor SplitHeads(Tensor x, long batch, long length) => x.view(batch, length, heads, headDim).transpose(1, 2);

    /// <summary>(B, T, hidden) to a contiguous copy of its first position, (B, 1, hidden).</summary>
    internal static Tensor FirstPosition(Tensor hidden)
    {
        using var view = hidden.narrow(1, 0, 1);
        return view.contiguous();
    }
}
