using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Gpt2;

/// <summary>
/// One pre-norm GPT-2 block: <c>x + attn(ln_1(x))</c>, then <c>x + mlp(ln_2(x))</c>.
/// HF names: <c>transformer.h.{i}.ln_1</c>, <c>.attn</c>, <c>.ln_2</c>, <c>.mlp</c>.
/// </summary>
public sealed class Gpt2Block : nn.Module
{
    readonly LayerNorm ln_1, ln_2;
    readonly Gpt2Attention attn;
    readonly Gpt2Mlp mlp;

    /// <summary>Creates block <paramref name="layerIndex"/>.</summary>
    public Gpt2Block(Gpt2Config config, int layerIndex) : base($"h.{layerIndex}")
    {
        ln_1 = nn.LayerNorm(config.NEmbd, config.LayerNormEpsilon);
        attn = new Gpt2Attention(config, layerIndex);
        ln_2 = nn.LayerNorm(config.NEmbd, config.LayerNormEpsilon);
        mlp = new Gpt2Mlp(config);
        RegisterComponents();
    }

    /// <summary>The attention sub-layer.</summary>
    public Gpt2Attention Attention => attn;

    /// <summary>The feed-forward sub-layer.</summary>
    public Gpt2Mlp Mlp => mlp;

    /// <summary>Runs the block.</summary>
    /// <param name="hidden">(B, T, n_embd).</param>
    /// <param name="mask">(B or 1, 1, T, S) boolean attention mask.</param>
    /// <param name="cache">Key/value cache, or null.</param>
    /// <returns>(B, T, n_embd).</returns>
    public Tensor forward(Tensor hidden, Tensor mask, KvCache? cache)
    {
        hidden = hidden + attn.forward(ln_1.forward(hidden), mask, cache);
        return hidden + mlp.forward(ln_2.forward(hidden));
    }
}
