using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// Multi-head self-attention projections and scaled dot-product attention.
/// HF names: <c>attention.self.query</c>, <c>.key</c>, <c>.value</c>.
/// </summary>
public sealed class BertSelfAttention : nn.Module
{
    readonly Linear query, key, value;
    readonly int heads, headDim;
    readonly double dropoutProbability;

    /// <summary>Creates the projections for <paramref name="config"/>.</summary>
    public BertSelfAttention(BertConfig config) : base("self")
    {
        heads = config.NumAttentionHeads;
        headDim = config.HeadDim;
        dropoutProbability = config.AttentionProbsDropoutProb;
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    /// <summary>Attends over the sequence; returns the context (B, T, hidden) before the output projection.</summary>
    /// <param name="hidden">(B, T, hidden) input states.</param>
    /// <param name="mask">(B, 1, 1 or T, T) boolean mask, true where a key may be attended to; null attends everywhere.</param>
    /// <param name="prefix">
    /// Optional key/value prefix (prefix tuning), each (B, heads, P, head_dim): prepended to this layer's keys and
    /// values and always attendable; queries stay the T real positions, so the output keeps its shape.
    /// </param>
    public Tensor forward(Tensor hidden, Tensor? mask, KeyValuePrefix? prefix = null)
    {
        long batch = hidden.shape[0], length = hidden.shape[1];
        // call() rather than forward(): call runs the module's forward hooks, through which adapters
        // such as LoRA add their term while the Linear (and its state-dict key) stays in place.
        var q = SplitHeads(query.call(hidden), batch, length);   // (B, heads, T, head_dim)
        var k = SplitHeads(key.call(hidden), batch, length);
        var v = SplitHeads(value.call(hidden), batch, length);
        if (prefix is not null) (k, v, mask) = prefix.Prepend(k, v, mask);  // keys/values (B, heads, P + T, head_dim)
        // The fused kernel scales by 1/sqrt(head_dim) and applies the boolean mask; its dropout is
        // the attention-probability dropout of the paper, active only in training.
        var context = nn.functional.scaled_dot_product_attention(q, k, v, mask, training ? dropoutProbability : 0.0, false);
        return context.transpose(1, 2).reshape(batch, length, heads * headDim);  // (B, T, hidden)
    }

    Tensor SplitHeads(Tensor x, long batch, long length) => x.view(batch, length, heads, headDim).transpose(1, 2);
}
