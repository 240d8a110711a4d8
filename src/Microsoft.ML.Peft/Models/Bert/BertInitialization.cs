using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// Hugging Face's initialisation of BERT weights (<see cref="WeightInitialization"/>), with the padding row of an
/// embedding kept at zero, as <c>nn.Embedding(padding_idx)</c> leaves it.
/// </summary>
internal static class BertInitialization
{
    public static void Apply(nn.Module root, double std)
    {
        WeightInitialization.Apply(root, std);
        foreach (var (_, module) in root.named_modules())
            if (module is BertEmbeddings embeddings) embeddings.ZeroPaddingRows();
    }
}
