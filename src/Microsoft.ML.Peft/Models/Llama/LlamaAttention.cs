using Microsoft.ML.Peft.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>
/// LLaMA self-attention with rotary positions and grouped-query attention (GQA): <c>num_key_value_heads</c> key/value
/// heads are each shared by <c>heads / kv_heads</c> query heads. HF names: <c>self_attn.q_proj</c>, <c>.k_proj</c>,
/// <c>.v_proj</c>, <c>.o_proj</c>.
/// </summary>
public sealed class LlamaAttention : nn.Module
{
    // Typed as the module interface, not Linear: ModuleSurgery may swap in a Linear4bit (QLoRA) under the same name.
    readonly nn.Module<Tensor, Tensor> q_proj, k_proj, v_proj, o_proj;
    readonly int heads, kvHeads, headDim, layerIndex;
    readonly double dropout;

    /// <summary>Creates the projections of layer <paramref name="layerIndex"/>.</summary>
    public LlamaAttention(LlamaConfig config, int layerIndex) : base("self_attn")
    {
        heads = config.NumAttentionHeads;
        kvHeads = config.KeyValueHeads;
        headDim = config.HeadDim;
        this.layerIndex = layerIndex;
        dropout = config.AttentionDropout;
        q_proj = nn.Linear(config.HiddenSize, heads * headDim, hasBias: config.QkvBias);
        k_proj = nn.Linear(config.HiddenSize, kvHeads * headDim, hasBias: config.QkvBias);
        v_proj = nn.Linear(config.HiddenSize, kvHeads * headDim, hasBias: config.QkvBias);
        o_proj = nn.Linear(heads * headDim, config.HiddenSize, hasBias: config.OutputBias);
        RegisterComponents();
    }

    /// <summary>Attends over cached and new tokens.</summary>
    /// <param name="hidden">(B, T, hidden) new states.</param>
    /// <param name="cos">(B, T, head_dim) rotary cosines.</param>
    /// <param name="sin">(B, T, head_dim) rotary sines.</param>
    /// <param name="mask">(B or 1, 1, T, S) boolean attention mask.</param>
    /// <param name="cache">Extended with this layer's (rotated) keys and values when given.</param>
    /// <returns>(B, T, hidden).</returns>
    public Tensor forward(Tensor hidden, Tensor cos, Tensor sin, Tensor mask, KvCache? cache)
    {
        long batch = hidden.shape[0], length = hidden.shape[1];
        // Layers are invoked with call(), not forward(): TorchSharp runs forward hooks (how LoRA attaches) only through call().
        var q = q_proj.call(hidden).view(batch, length, heads, headDim).transpose(1, 2);     // (B, heads, T, d)
        var k = k_proj.call(hidden).view(batch, length, kvHeads, headDim).transpose(1, 2);   // (B, kv_heads, T, d)
        var v = v_proj.call(hidden).view(batch, length, kvHeads, headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        if (cache is not null) (k, v) = cache.Append(layerIndex, k, v);                        // (B, kv_heads, S, d)
        var context = AttentionKernel.ScaledDotProduct(q, RepeatKv(k, heads / kvHeads), RepeatKv(v, heads / kvHeads),
                                                       mask, dropout, training);   // (B, heads, T, d)
        return o_proj.call(context.transpose(1, 2).reshape(batch, length, heads * headDim));
    }

    /// <summary>
    /// Expands (B, kv_heads, S, d) to (B, kv_heads·groups, S, d), each key/value head repeated for the
    /// <paramref name="groups"/> consecutive query heads that share it (HF's <c>repeat_kv</c>).
    /// </summary>
    public static Tensor RepeatKv(Tensor x, int groups)
    {
        if (groups == 1) return x;
        long batch = x.shape[0], kv = x.shape[1], length = x.shape[2], d = x.shape[3];
        return x.unsqueeze(2).expand(batch, kv, groups, length, d).reshape(batch, kv * groups, length, d);
    }
}
