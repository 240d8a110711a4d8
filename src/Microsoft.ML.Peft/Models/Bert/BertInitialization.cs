using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// Hugging Face's initialisation of BERT weights: Linear and Embedding weights ~ N(0, initializer_range),
/// biases zero, LayerNorm weight one and bias zero, the padding row of an embedding zero. Pretrained
/// checkpoints overwrite all of it; it matters for fresh heads and tiny random test models.
/// </summary>
internal static class BertInitialization
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
                case LayerNorm norm:
                    nn.init.ones_(norm.weight);
                    nn.init.zeros_(norm.bias);
                    break;
            }
        }
        // After the normal draws: padding rows stay zero, as nn.Embedding(padding_idx) leaves them.
        foreach (var (_, module) in root.named_modules())
            if (module is BertEmbeddings embeddings) embeddings.ZeroPaddingRows();
    }
}
