using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// GPT-2's "Conv1D": a linear layer whose weight is stored transposed, <c>[in, out]</c>, so that
/// <c>y = x @ W + b</c>. Keeping the stored layout (rather than transposing into a <see cref="Linear"/>) keeps
/// the state dict byte-for-byte equal to Hugging Face's checkpoints, which adapters (PEFT's
/// <c>fan_in_fan_out</c>) rely on.
/// </summary>
public sealed class Conv1D : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter bias;

    /// <summary>Creates the layer; the weight is drawn from N(0, 0.02) as in Hugging Face, the bias is zero.</summary>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="name">Module name.</param>
    public Conv1D(long inFeatures, long outFeatures, string name = "conv1d") : base(name)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = nn.Parameter(torch.empty(inFeatures, outFeatures));   // [in, out]
        bias = nn.Parameter(torch.zeros(outFeatures));
        using (no_grad()) nn.init.normal_(weight, 0, 0.02);
        RegisterComponents();
    }

    /// <summary>Input width.</summary>
    public long InFeatures { get; }

    /// <summary>Output width.</summary>
    public long OutFeatures { get; }

    /// <summary>The weight, <c>[in, out]</c>.</summary>
    public Parameter Weight => weight;

    /// <summary>The bias, <c>[out]</c>.</summary>
    public Parameter Bias => bias;

    /// <summary>Applies <c>x @ W + b</c>.</summary>
    /// <param name="x">(..., in) input.</param>
    /// <returns>(..., out) output.</returns>
    public override Tensor forward(Tensor x)
    {
        // addmm on the flattened rows is one fused kernel, as in Hugging Face.
        var shape = x.shape.ToArray();
        shape[^1] = OutFeatures;
        using var flat = x.reshape(-1, InFeatures);
        return torch.addmm(bias, flat, weight, 1, 1).view(shape);
    }
}
