using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>
/// One pre-norm LLaMA layer: <c>x + attn(norm(x))</c>, then <c>x + mlp(norm(x))</c>. HF names:
/// <c>model.layers.{i}.input_layernorm</c>, <c>.self_attn</c>, <c>.post_attention_layernorm</c>, <c>.mlp</c>.
/// </summary>
public sealed class LlamaDecoderLayer : nn.Module
{
    readonly RmsNorm input_layernorm, post_attention_layernorm;
    readonly LlamaAttention self_attn;
    readonly LlamaMlp mlp;

    /// <summary>Creates layer <paramref name="layerIndex"/>.</summary>
    public LlamaDecoderLayer(LlamaConfig config, int layerIndex) : base($"layers.{layerIndex}")
    {
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, "input_layernorm");
        self_attn = new LlamaAttention(config, layerIndex);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, "post_attention_layernorm");
        mlp = new LlamaMlp(config);
        RegisterComponents();
    }

    /// <summary>The attention sub-layer.</summary>
    public LlamaAttention SelfAttention => self_attn;

    /// <summary>The feed-forward sub-layer.</summary>
    public LlamaMlp Mlp => mlp;

    /// <summary>Runs the layer.</summary>
    /// <param name="hidden">(B, T, hidden).</param>
    /// <param name="cos">(B, T, head_dim) rotary cosines.</param>
    /// <param name="sin">(B, T, head_dim) rotary sines.</param>
    /// <param name="mask">(B or 1, 1, T, S) boolean attention mask.</param>
    /// <param name="cache">Key/value cache, or null.</param>
    /// <returns>(B, T, hidden).</returns>
    public Tensor forward(Tensor hidden, Tensor cos, Tensor sin, Tensor mask, KvCache? cache)
    {
        hidden = hidden + self_attn.forward(input_layernorm.forward(hidden), cos, sin, mask, cache);
        return hidden + mlp.forward(post_attention_layernorm.forward(hidden));
    }
}
