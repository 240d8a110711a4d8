using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Gpt2;

/// <summary>
/// Hugging Face's initialisation of GPT-2: Conv1D, Linear and Embedding weights ~ N(0, initializer_range), biases
/// zero, LayerNorm one/zero, and the residual output projections (<c>c_proj</c>) scaled down by
/// 1/sqrt(2·n_layer) as in the GPT-2 paper, so the residual stream's variance does not grow with depth.
/// Pretrained checkpoints overwrite all of it; it matters for tiny random test models.
/// </summary>
internal static class Gpt2Initialization
{
    public static void Apply(nn.Module root, Gpt2Config config)
    {
        double std = config.InitializerRange;
        WeightInitialization.Apply(root, std, (name, module) =>
        {
            if (module is not Conv1D conv) return false;
            bool residual = name.EndsWith("c_proj", StringComparison.Ordinal);
            nn.init.normal_(conv.Weight, 0, residual ? std / Math.Sqrt(2.0 * config.NLayer) : std);
            nn.init.zeros_(conv.Bias);
            return true;
        });
    }
}
