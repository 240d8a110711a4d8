using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// Configuration of a BERT-family encoder (BERT, RoBERTa), deserialized unchanged from a Hugging Face
/// <c>config.json</c>. Property names follow Hugging Face's JSON field names.
/// </summary>
public sealed class BertConfig
{
    /// <summary>Architecture key: <c>bert</c> or <c>roberta</c>.</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "bert";
    /// <summary>Number of tokens in the vocabulary.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 30522;
    /// <summary>Width of the hidden states.</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    /// <summary>Number of transformer blocks.</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    /// <summary>Number of attention heads per block.</summary>
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;
    /// <summary>Width of the feed-forward layer.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    /// <summary>Feed-forward activation: <c>gelu</c> (erf), <c>gelu_new</c>/<c>gelu_pytorch_tanh</c> (tanh), <c>relu</c>, <c>silu</c>.</summary>
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu";
    /// <summary>Dropout after embeddings, attention output and feed-forward output.</summary>
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; set; } = 0.1;
    /// <summary>Dropout on the attention probabilities.</summary>
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; set; } = 0.1;
    /// <summary>Number of learned positions.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 512;
    /// <summary>Number of token types (segments); 1 for RoBERTa.</summary>
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; set; } = 2;
    /// <summary>Standard deviation of the truncated-normal initialisation of new weights.</summary>
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    /// <summary>LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-12;
    /// <summary>Id of the padding token (RoBERTa also uses it to offset position ids).</summary>
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; set; }
    /// <summary>Dropout before the classifier; <see cref="HiddenDropoutProb"/> when null.</summary>
    [JsonPropertyName("classifier_dropout")] public double? ClassifierDropout { get; set; }
    /// <summary>Only <c>absolute</c> positions are supported.</summary>
    [JsonPropertyName("position_embedding_type")] public string PositionEmbeddingType { get; set; } = "absolute";
    /// <summary>Model classes of the checkpoint, e.g. <c>BertModel</c>.</summary>
    [JsonPropertyName("architectures")] public List<string>? Architectures { get; set; }
    /// <summary>Number of classification labels of a fine-tuned checkpoint, when the file states it.</summary>
    [JsonPropertyName("num_labels")] public int? NumLabels { get; set; }
    /// <summary>Fields of config.json this class does not model; kept so a saved config loses nothing.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>True for RoBERTa, whose position ids start after the padding id.</summary>
    [JsonIgnore] public bool IsRoberta => ModelType is "roberta" or "xlm-roberta";

    /// <summary>Width of one attention head.</summary>
    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Serializes to Hugging Face's <c>config.json</c> form (null fields omitted).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    });

    /// <summary>Checks the values a forward pass relies on; throws naming the bad field.</summary>
    public void Validate()
    {
        if (HiddenSize <= 0 || NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            throw new InvalidDataException($"config.json: hidden_size ({HiddenSize}) must be a positive multiple of num_attention_heads ({NumAttentionHeads}).");
        if (NumHiddenLayers <= 0) throw new InvalidDataException($"config.json: num_hidden_layers must be positive, not {NumHiddenLayers}.");
        if (VocabSize <= 0) throw new InvalidDataException($"config.json: vocab_size must be positive, not {VocabSize}.");
        if (PositionEmbeddingType != "absolute")
            throw new NotSupportedException($"config.json: position_embedding_type '{PositionEmbeddingType}' is not supported; only 'absolute' is.");
        Activations.Validate(HiddenAct);
    }
}
