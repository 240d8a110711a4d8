using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>
/// Hugging Face's initialisation of LLaMA-family weights: Linear and Embedding weights ~ N(0, initializer_range),
/// biases zero, RMSNorm weights one. Pretrained checkpoints overwrite it; it matters for tiny random test models.
/// </summary>
internal static class LlamaInitialization
{
    public static void Apply(nn.Module root, double std)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in root.named_modules())
        {
            switch (module)
            {
                case Linear linear:
                    nn.init.normal_(linear.weight, 0, std);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
                case Embedding embedding:
                    nn.init.normal_(embedding.weight, 0, std);
                    break;
                case RmsNorm norm:
                    nn.init.ones_(norm.Weight);
                    break;
            }
        }
    }
}
