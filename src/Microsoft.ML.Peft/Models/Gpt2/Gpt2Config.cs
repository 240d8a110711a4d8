using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Peft.Models.Gpt2;

/// <summary>
/// Configuration of a GPT-2 decoder, deserialized unchanged from a Hugging Face <c>config.json</c>;
/// property names follow Hugging Face's JSON field names and defaults are those of <c>gpt2</c> (124M).
/// </summary>
public sealed class Gpt2Config
{
    /// <summary>Architecture key, <c>gpt2</c>.</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "gpt2";
    /// <summary>Number of tokens in the vocabulary.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 50257;
    /// <summary>Number of learned positions, i.e. the context length.</summary>
    [JsonPropertyName("n_positions")] public int NPositions { get; set; } = 1024;
    /// <summary>Width of the hidden states.</summary>
    [JsonPropertyName("n_embd")] public int NEmbd { get; set; } = 768;
    /// <summary>Number of transformer blocks.</summary>
    [JsonPropertyName("n_layer")] public int NLayer { get; set; } = 12;
    /// <summary>Number of attention heads.</summary>
    [JsonPropertyName("n_head")] public int NHead { get; set; } = 12;
    /// <summary>Width of the feed-forward layer; 4 × <c>n_embd</c> when null.</summary>
    [JsonPropertyName("n_inner")] public int? NInner { get; set; }
    /// <summary>Feed-forward activation; GPT-2 uses <c>gelu_new</c> (tanh approximation).</summary>
    [JsonPropertyName("activation_function")] public string ActivationFunction { get; set; } = "gelu_new";
    /// <summary>Dropout after the attention and feed-forward projections.</summary>
    [JsonPropertyName("resid_pdrop")] public double ResidPdrop { get; set; } = 0.1;
    /// <summary>Dropout after the token + position embeddings.</summary>
    [JsonPropertyName("embd_pdrop")] public double EmbdPdrop { get; set; } = 0.1;
    /// <summary>Dropout on the attention probabilities.</summary>
    [JsonPropertyName("attn_pdrop")] public double AttnPdrop { get; set; } = 0.1;
    /// <summary>LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_epsilon")] public double LayerNormEpsilon { get; set; } = 1e-5;
    /// <summary>Standard deviation of the normal initialisation.</summary>
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    /// <summary>Beginning-of-sequence id (<c>&lt;|endoftext|&gt;</c>).</summary>
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; set; } = 50256;
    /// <summary>End-of-sequence id (<c>&lt;|endoftext|&gt;</c>).</summary>
    [JsonPropertyName("eos_token_id")] public int? EosTokenId { get; set; } = 50256;
    /// <summary>Padding id; GPT-2 has none.</summary>
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; }
    /// <summary>Whether <c>lm_head</c> shares the token embedding matrix (true for every published GPT-2).</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; } = true;
    /// <summary>Scale attention scores by 1/sqrt(head_dim); GPT-2 always does.</summary>
    [JsonPropertyName("scale_attn_weights")] public bool ScaleAttnWeights { get; set; } = true;
    /// <summary>Model classes of the checkpoint, e.g. <c>GPT2LMHeadModel</c>.</summary>
    [JsonPropertyName("architectures")] public List<string>? Architectures { get; set; }
    /// <summary>Fields of config.json this class does not model; kept so a saved config loses nothing.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>Width of one attention head.</summary>
    [JsonIgnore] public int HeadDim => NEmbd / NHead;

    /// <summary>Width of the feed-forward layer.</summary>
    [JsonIgnore] public int InnerSize => NInner ?? 4 * NEmbd;

    /// <summary>Serializes to Hugging Face's <c>config.json</c> form (null fields omitted).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    });

    /// <summary>Checks the values a forward pass relies on; throws naming the bad field.</summary>
    public void Validate()
    {
        if (NEmbd <= 0 || NHead <= 0 || NEmbd % NHead != 0)
            throw new InvalidDataException($"config.json: n_embd ({NEmbd}) must be a positive multiple of n_head ({NHead}).");
        if (NLayer <= 0) throw new InvalidDataException($"config.json: n_layer must be positive, not {NLayer}.");
        if (VocabSize <= 0) throw new InvalidDataException($"config.json: vocab_size must be positive, not {VocabSize}.");
        if (NPositions <= 0) throw new InvalidDataException($"config.json: n_positions must be positive, not {NPositions}.");
        if (InnerSize <= 0) throw new InvalidDataException($"config.json: n_inner must be positive, not {NInner}.");
        if (!ScaleAttnWeights) throw new NotSupportedException("config.json: scale_attn_weights false is not supported.");
        Activations.Validate(ActivationFunction);
    }
}
