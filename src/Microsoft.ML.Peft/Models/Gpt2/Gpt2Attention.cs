using Microsoft.ML.Peft.Models.Common;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Gpt2;

/// <summary>
/// GPT-2 causal self-attention. HF names: <c>attn.c_attn</c> (fused Q, K, V projection, Conv1D [n_embd, 3·n_embd])
/// and <c>attn.c_proj</c> (output projection, Conv1D [n_embd, n_embd]).
/// </summary>
public sealed class Gpt2Attention : nn.Module
{
    // Typed as the module interface, not Conv1D: ModuleSurgery may swap in a Linear4bit (QLoRA) under the same name.
    readonly nn.Module<Tensor, Tensor> c_attn, c_proj;
    readonly int heads, headDim, layerIndex;
    readonly double attnDropout, residDropout;

    /// <summary>Creates the projections of block <paramref name="layerIndex"/>.</summary>
    public Gpt2Attention(Gpt2Config config, int layerIndex) : base("attn")
    {
        heads = config.NHead;
        headDim = config.HeadDim;
        this.layerIndex = layerIndex;
        attnDropout = config.AttnPdrop;
        residDropout = config.ResidPdrop;
        c_attn = new Conv1D(config.NEmbd, 3 * config.NEmbd, "c_attn");
        c_proj = new Conv1D(config.NEmbd, config.NEmbd, "c_proj");
        RegisterComponents();
    }

    /// <summary>The fused query/key/value projection: a Conv1D, or QLoRA's 4-bit layer.</summary>
    public nn.Module<Tensor, Tensor> CAttn => c_attn;

    /// <summary>The output projection: a Conv1D, or QLoRA's 4-bit layer.</summary>
    public nn.Module<Tensor, Tensor> CProj => c_proj;

    /// <summary>Attends causally over cached and new tokens.</summary>
    /// <param name="hidden">(B, T, n_embd) new states.</param>
    /// <param name="mask">(B or 1, 1, T, S) boolean mask from <see cref="DecoderMasks.Causal"/>.</param>
    /// <param name="cache">Extended with this layer's keys and values when given.</param>
    /// <returns>(B, T, n_embd).</returns>
    public Tensor forward(Tensor hidden, Tensor mask, KvCache? cache)
    {
        long batch = hidden.shape[0], length = hidden.shape[1];
        // Layers are invoked with call(), not forward(): TorchSharp runs forward hooks (how LoRA attaches) only through call().
        var qkv = c_attn.call(hidden).split(hidden.shape[2], dim: 2);        // 3 × (B, T, n_embd)
        var q = SplitHeads(qkv[0], batch, length);                                // (B, heads, T, head_dim)
        var k = SplitHeads(qkv[1], batch, length);
        var v = SplitHeads(qkv[2], batch, length);
        if (cache is not null) (k, v) = cache.Append(layerIndex, k, v);         // (B, heads, S, head_dim)
        var context = AttentionKernel.ScaledDotProduct(q, k, v, mask, attnDropout, training);
        var merged = context.transpose(1, 2).reshape(batch, length, heads * headDim);  // (B, T, n_embd)
        return FastDropout.Apply(c_proj.call(merged), residDropout, training);
    }

    Tensor SplitHeads(Tensor x, long batch, long length) => x.view(batch, length, heads, headDim).transpose(1, 2);
}
