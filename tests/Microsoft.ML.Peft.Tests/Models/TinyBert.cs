using Microsoft.ML.Peft.Models.Bert;

namespace Microsoft.ML.Peft.Tests.Models;

/// <summary>Tiny random configurations for fast model tests.</summary>
internal static class TinyBert
{
    public static BertConfig Config(string modelType = "bert", int layers = 2) => new()
    {
        ModelType = modelType,
        VocabSize = 99,
        HiddenSize = 32,
        NumHiddenLayers = layers,
        NumAttentionHeads = 4,
        IntermediateSize = 37,
        MaxPositionEmbeddings = modelType == "roberta" ? 66 : 64,
        TypeVocabSize = modelType == "roberta" ? 1 : 2,
        PadTokenId = modelType == "roberta" ? 1 : 0,
        LayerNormEps = 1e-12,
    };
}
