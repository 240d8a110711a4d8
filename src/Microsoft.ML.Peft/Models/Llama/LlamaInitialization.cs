using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>Hugging Face's initialisation of LLaMA-family weights: the shared <see cref="WeightInitialization"/>.</summary>
internal static class LlamaInitialization
{
    public static void Apply(nn.Module root, double std) => WeightInitialization.Apply(root, std);
}
