using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>
/// SwiGLU feed-forward layer: <c>down_proj(act(gate_proj(x)) · up_proj(x))</c>.
/// HF names: <c>mlp.gate_proj</c>, <c>mlp.up_proj</c>, <c>mlp.down_proj</c>.
/// </summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    // Typed as the module interface, not Linear: ModuleSurgery may swap in a Linear4bit (QLoRA) under the same name.
    readonly nn.Module<Tensor, Tensor> gate_proj, up_proj, down_proj;
    readonly string activation;

    /// <summary>Creates the layer for <paramref name="config"/>.</summary>
    public LlamaMlp(LlamaConfig config) : base("mlp")
    {
        activation = config.HiddenAct;
        gate_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias);
        up_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias);
        down_proj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: config.MlpBias);
        RegisterComponents();
    }

    /// <summary>Applies the layer.</summary>
    /// <param name="x">(B, T, hidden).</param>
    /// <returns>(B, T, hidden).</returns>
    public override Tensor forward(Tensor x) =>
        down_proj.call(Activations.Apply(activation, gate_proj.call(x)) * up_proj.call(x));   // (B, T, intermediate) inside
}
