using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// Hugging Face's default initialisation of transformer weights, shared by every architecture: Linear and Embedding
/// weights ~ N(0, initializer_range), biases zero, LayerNorm and RMSNorm weights one (LayerNorm bias zero).
/// Pretrained checkpoints overwrite all of it; it matters for fresh heads and tiny random test models.
/// </summary>
internal static class WeightInitialization
{
    /// <summary>Initialises every module under <paramref name="root"/>.</summary>
    /// <param name="root">The model or sub-module.</param>
    /// <param name="std">The standard deviation of the normal draws (<c>initializer_range</c>).</param>
    /// <param name="special">
    /// An architecture's own rule, tried first with each (name, module); returns true when it initialised the module
    /// (e.g. GPT-2's scaled residual projections).
    /// </param>
    public static void Apply(nn.Module root, double std, Func<string, nn.Module, bool>? special = null)
    {
        using var noGrad = no_grad();
        foreach (var (name, module) in root.named_modules())
        {
            if (special?.Invoke(name, module) == true) continue;
            switch (module)
            {
                case Linear linear:
                    nn.init.normal_(linear.weight, 0, std);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
                case Embedding embedding:
                    nn.init.normal_(embedding.weight, 0, std);
                    break;
                case LayerNorm norm:
                    nn.init.ones_(norm.weight);
                    nn.init.zeros_(norm.bias);
                    break;
                case RmsNorm norm:
                    nn.init.ones_(norm.Weight);
                    break;
            }
        }
    }
}
