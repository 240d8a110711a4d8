using System.Globalization;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Peft.Onnx;

/// <summary>
/// The BERT hyper-parameters inferred from an ONNX graph, named like the fields of a Hugging Face
/// <c>BertConfig</c>; <see cref="ToJson"/> writes a <c>config.json</c> that <c>BertModel</c> loads.
/// </summary>
/// <param name="VocabSize">Rows of the word-embedding table.</param>
/// <param name="HiddenSize">Columns of the word-embedding table.</param>
/// <param name="NumHiddenLayers">Encoder layers found.</param>
/// <param name="NumAttentionHeads">Heads, read from the Reshape that splits Q/K/V into heads.</param>
/// <param name="IntermediateSize">Output width of the FFN-in Linear.</param>
/// <param name="MaxPositionEmbeddings">Rows of the position-embedding table.</param>
/// <param name="TypeVocabSize">Rows of the token-type embedding table.</param>
/// <param name="LayerNormEps">Epsilon of the embedding LayerNorm (BERT uses one epsilon everywhere).</param>
/// <param name="HiddenAct">Hugging Face activation name: <c>gelu</c> (erf) or <c>gelu_new</c> (tanh approximation).</param>
public sealed record BertOnnxConfig(int VocabSize, int HiddenSize, int NumHiddenLayers, int NumAttentionHeads,
                                    int IntermediateSize, int MaxPositionEmbeddings, int TypeVocabSize,
                                    double LayerNormEps, string HiddenAct)
{
    /// <summary>The <c>config.json</c> text, with the Hugging Face defaults for fields an ONNX graph does not carry.</summary>
    public string ToJson()
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray("BertModel"),
            ["model_type"] = "bert",
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["intermediate_size"] = IntermediateSize,
            ["hidden_act"] = HiddenAct,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["type_vocab_size"] = TypeVocabSize,
            ["layer_norm_eps"] = LayerNormEps,
            ["hidden_dropout_prob"] = 0.1,
            ["attention_probs_dropout_prob"] = 0.1,
            ["initializer_range"] = 0.02,
            ["pad_token_id"] = 0,
            ["position_embedding_type"] = "absolute",
            ["use_cache"] = true,
            ["torch_dtype"] = "float32",
        };
        return json.ToJsonString(new() { WriteIndented = true });
    }

    /// <summary>
    /// Widens a float32 epsilon read from the graph to the double it was written from: 1e-12 is stored as
    /// 9.9999999600419720e-13 in float32, and its shortest float text "1E-12" is the value the model was trained with.
    /// </summary>
    internal static double WidenEpsilon(float eps) =>
        double.Parse(eps.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
