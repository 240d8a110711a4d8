using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// Root-mean-square layer norm (LLaMA, Mistral, Qwen2): <c>y = w * x / sqrt(mean(x²) + eps)</c>, without
/// centring or bias. The statistics are computed in float32 whatever the input type, because a bf16/fp16 mean of
/// squares loses too much precision; the result is cast back before the (input-typed) weight is applied, as in
/// Hugging Face's <c>LlamaRMSNorm</c>. HF name of the parameter: <c>weight</c>.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;

    /// <summary>Creates the norm with unit weight.</summary>
    /// <param name="size">Width of the normalized last dimension.</param>
    /// <param name="eps">Added to the mean square for stability (<c>rms_norm_eps</c>).</param>
    /// <param name="name">Module name.</param>
    public RmsNorm(long size, double eps, string name = "rms_norm") : base(name)
    {
        this.eps = eps;
        weight = nn.Parameter(torch.ones(size));
        RegisterComponents();
    }

    /// <summary>The scale, <c>[size]</c>.</summary>
    public Parameter Weight => weight;

    /// <summary>Normalizes the last dimension.</summary>
    /// <param name="x">(..., size) input.</param>
    /// <returns>(..., size) normalized and scaled input, in the input's type.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var input = x.to(ScalarType.Float32);
        var variance = input.pow(2).mean(new long[] { -1 }, keepdim: true);
        var normalized = input * torch.rsqrt(variance + eps);
        return (weight * normalized.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
