using Microsoft.ML.Peft.Models.Common;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Gpt2;

/// <summary>GPT-2 feed-forward layer. HF names: <c>mlp.c_fc</c> (Conv1D [n_embd, n_inner]) and <c>mlp.c_proj</c> (Conv1D [n_inner, n_embd]).</summary>
public sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
{
    // Typed as the module interface, not Conv1D: ModuleSurgery may swap in a Linear4bit (QLoRA) under the same name.
    readonly nn.Module<Tensor, Tensor> c_fc, c_proj;
    readonly string activation;
    readonly double dropout;

    /// <summary>Creates the layer for <paramref name="config"/>.</summary>
    public Gpt2Mlp(Gpt2Config config) : base("mlp")
    {
        activation = config.ActivationFunction;
        dropout = config.ResidPdrop;
        c_fc = new Conv1D(config.NEmbd, config.InnerSize, "c_fc");
        c_proj = new Conv1D(config.InnerSize, config.NEmbd, "c_proj");
        RegisterComponents();
    }

    /// <summary>Applies <c>dropout(c_proj(act(c_fc(x))))</c>.</summary>
    /// <param name="x">(B, T, n_embd).</param>
    /// <returns>(B, T, n_embd).</returns>
    public override Tensor forward(Tensor x) =>
        FastDropout.Apply(c_proj.call(Activations.Apply(activation, c_fc.call(x))), dropout, training);
}
