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

    /// <summary>Attends over the sequence; returns the context (B, Tq, hidden) before the output projection.</summary>
    /// <param name="hidden">(B, T, hidden) input states: every one gives a key and a value.</param>
    /// <param name="mask">(B, 1, 1 or T, T) boolean mask, true where a key may be attended to; null attends everywhere.</param>
    /// <param name="prefix">
    /// Optional key/value prefix (prefix tuning), each (B, heads, P, head_dim): prepended to this layer's keys and
    /// values and always attendable; queries stay the T real positions, so the output keeps its shape.
    /// </param>
    /// <param name="queryStates">
    /// (B, Tq, hidden) states of the first Tq positions, the only ones that get a query and an output; null for all of
    /// <paramref name="hidden"/> (Tq = T). The classification heads read one position of the last block, so it needs one.
    /// </param>
    public Tensor forward(Tensor hidden, Tensor? mask, KeyValuePrefix? prefix = null, Tensor? queryStates = null)
    {
        queryStates ??= hidden;
        long batch = hidden.shape[0], length = hidden.shape[1], queries = queryStates.shape[1];
        // call() rather than forward(): call runs the module's forward hooks, through which adapters
        // such as LoRA add their term while the Linear (and its state-dict key) stays in place.
        // Intermediates are released as soon as they are used (autograd keeps what it saved by itself), so that
        // inference does not hold every projection of the layer at once.
        using var qAll = RowLinear.Call(query, queryStates);
        using var kAll = RowLinear.Call(key, hidden);
        using var vAll = RowLinear.Call(value, hidden);
        using var q = SplitHeads(qAll, batch, queries);  // (B, heads, Tq, head_dim)
        using var kOwn = SplitHeads(kAll, batch, length);
        using var vOwn = SplitHeads(vAll, batch, length);
        // Prefix tuning puts per-layer trainable keys/values in front: (B, heads, P + T, head_dim), key mask extended.
        // A per-query mask (B, 1, T, T) keeps the rows of the Tq queries.
        using var queryMask = mask is not null && mask.shape[2] != 1 && mask.shape[2] != queries ? mask.narrow(2, 0, queries) : null;
        var (k, v, keyMask) = prefix is null ? (kOwn, vOwn, queryMask ?? mask) : prefix.Prepend(kOwn, vOwn, queryMask ?? mask);
        // The fused kernel scales by 1/sqrt(head_dim) and applies the boolean mask; its dropout is
        // the attention-probability dropout of the paper, active only in training.
        using var context = AttentionKernel.ScaledDotProduct(q, k, v, keyMask, dropoutProbability, training);
        using var heads_ = context.transpose(1, 2);
        return heads_.reshape(batch, queries, heads * headDim);  // (B, Tq, hidden)
    }

    Tensor SplitHeads(Tensor x, long batch, long length) => x.view(batch, length, heads, headDim).transpose(1, 2);
}
