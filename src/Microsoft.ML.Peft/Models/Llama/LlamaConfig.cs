using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>
/// Configuration of a LLaMA-family decoder — <c>llama</c>, <c>mistral</c>, <c>qwen2</c> and SmolLM-style models —
/// deserialized unchanged from a Hugging Face <c>config.json</c>. Defaults are Hugging Face's <c>LlamaConfig</c>'s.
/// The families differ only in fields: grouped-query attention (<c>num_key_value_heads</c>), Qwen2's q/k/v biases
/// (implied by <c>model_type: qwen2</c>), tied embeddings, RoPE base and scaling.
/// </summary>
public sealed class LlamaConfig
{
    /// <summary>Architecture key: <c>llama</c>, <c>mistral</c> or <c>qwen2</c>.</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "llama";
    /// <summary>Number of tokens in the vocabulary.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 32000;
    /// <summary>Width of the hidden states.</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 4096;
    /// <summary>Width of the SwiGLU feed-forward layer.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 11008;
    /// <summary>Number of decoder layers.</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 32;
    /// <summary>Number of query heads.</summary>
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 32;
    /// <summary>Number of key/value heads (grouped-query attention); <see cref="NumAttentionHeads"/> when null.</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; set; }
    /// <summary>Width of one head; hidden_size / num_attention_heads when null.</summary>
    [JsonPropertyName("head_dim")] public int? HeadDimension { get; set; }
    /// <summary>Feed-forward gate activation; <c>silu</c> for every supported family.</summary>
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";
    /// <summary>Context length the model was trained with.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 2048;
    /// <summary>RMSNorm epsilon.</summary>
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; set; } = 1e-6;
    /// <summary>Base of the rotary frequencies.</summary>
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; set; } = 10000.0;
    /// <summary>Rotary scaling, or null for none.</summary>
    [JsonPropertyName("rope_scaling")] public RopeScaling? RopeScaling { get; set; }
    /// <summary>
    /// transformers 5's form of the two fields above: <c>rope_theta</c> and the scaling fields in one object. When
    /// present it wins over them (see <see cref="RotaryBase"/> and <see cref="RotaryScaling"/>).
    /// </summary>
    [JsonPropertyName("rope_parameters")] public RopeScaling? RopeParameters { get; set; }
    /// <summary>Bias on q/k/v/o projections (LLaMA); Qwen2 has q/k/v biases regardless and never an o_proj bias.</summary>
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; set; }
    /// <summary>Bias on the feed-forward projections.</summary>
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; set; }
    /// <summary>Dropout on attention probabilities (0 in every published model).</summary>
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; }
    /// <summary>Whether <c>lm_head</c> shares the token embedding matrix.</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    /// <summary>Mistral: each token attends only to this many previous tokens; null for full attention.</summary>
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; set; }
    /// <summary>Qwen2: whether <see cref="SlidingWindow"/> is in use (false in published Qwen2 models).</summary>
    [JsonPropertyName("use_sliding_window")] public bool? UseSlidingWindow { get; set; }
    /// <summary>Standard deviation of the normal initialisation.</summary>
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    /// <summary>Beginning-of-sequence id.</summary>
    [JsonPropertyName("bos_token_id"), JsonConverter(typeof(TokenIdsConverter))] public List<int>? BosTokenId { get; set; } = new() { 1 };
    /// <summary>End-of-sequence id(s).</summary>
    [JsonPropertyName("eos_token_id"), JsonConverter(typeof(TokenIdsConverter))] public List<int>? EosTokenId { get; set; } = new() { 2 };
    /// <summary>Padding id, when the model has one.</summary>
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; }
    /// <summary>Model classes of the checkpoint, e.g. <c>LlamaForCausalLM</c>.</summary>
    [JsonPropertyName("architectures")] public List<string>? Architectures { get; set; }
    /// <summary>Fields of config.json this class does not model; kept so a saved config loses nothing.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The <c>model_type</c> values this class describes.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = new[] { "llama", "mistral", "qwen2" };

    /// <summary>The rotary base in force: <c>rope_parameters.rope_theta</c>, else <c>rope_theta</c>.</summary>
    [JsonIgnore] public double RotaryBase => RopeParameters?.RopeTheta ?? RopeTheta;

    /// <summary>The rotary scaling in force: <c>rope_parameters</c> unless its type is default, else <c>rope_scaling</c>.</summary>
    [JsonIgnore] public RopeScaling? RotaryScaling => RopeParameters is { Method: not "default" } parameters ? parameters : RopeScaling;

    /// <summary>Width of one attention head.</summary>
    [JsonIgnore] public int HeadDim => HeadDimension ?? HiddenSize / NumAttentionHeads;

    /// <summary>Number of key/value heads.</summary>
    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;

    /// <summary>Whether q_proj, k_proj and v_proj have biases (Qwen2 always; LLaMA with attention_bias).</summary>
    [JsonIgnore] public bool QkvBias => ModelType == "qwen2" || AttentionBias;

    /// <summary>Whether o_proj has a bias (LLaMA with attention_bias; never Qwen2).</summary>
    [JsonIgnore] public bool OutputBias => ModelType != "qwen2" && AttentionBias;

    /// <summary>The sliding attention window in force, or null when attention is full.</summary>
    [JsonIgnore] public int? EffectiveSlidingWindow => ModelType == "qwen2" && UseSlidingWindow != true ? null : SlidingWindow;

    /// <summary>Serializes to Hugging Face's <c>config.json</c> form (null fields omitted).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    });

    /// <summary>Checks the values a forward pass relies on; throws naming the bad field.</summary>
    public void Validate()
    {
        if (!SupportedModelTypes.Contains(ModelType))
            throw new NotSupportedException($"config.json: model_type '{ModelType}' is not a LLaMA-family type; supported: {string.Join(", ", SupportedModelTypes)}.");
        if (HiddenSize <= 0 || NumAttentionHeads <= 0) throw new InvalidDataException($"config.json: hidden_size ({HiddenSize}) and num_attention_heads ({NumAttentionHeads}) must be positive.");
        if (HeadDimension is null && HiddenSize % NumAttentionHeads != 0)
            throw new InvalidDataException($"config.json: hidden_size ({HiddenSize}) must be a multiple of num_attention_heads ({NumAttentionHeads}) when head_dim is not given.");
        if (HeadDim <= 0 || HeadDim % 2 != 0) throw new InvalidDataException($"config.json: head_dim must be positive and even for rotary embeddings, not {HeadDim}.");
        if (KeyValueHeads <= 0 || NumAttentionHeads % KeyValueHeads != 0)
            throw new InvalidDataException($"config.json: num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({KeyValueHeads}).");
        if (NumHiddenLayers <= 0) throw new InvalidDataException($"config.json: num_hidden_layers must be positive, not {NumHiddenLayers}.");
        if (VocabSize <= 0) throw new InvalidDataException($"config.json: vocab_size must be positive, not {VocabSize}.");
        if (IntermediateSize <= 0) throw new InvalidDataException($"config.json: intermediate_size must be positive, not {IntermediateSize}.");
        if (MaxPositionEmbeddings <= 0) throw new InvalidDataException($"config.json: max_position_embeddings must be positive, not {MaxPositionEmbeddings}.");
        if (RotaryScaling is { } scaling)
        {
            if (scaling.Method is not ("default" or "linear" or "dynamic" or "llama3"))
                throw new NotSupportedException($"config.json: rope_scaling type '{scaling.Method}' is not supported; supported: linear, dynamic, llama3.");
            if (!(scaling.Factor >= 1.0)) throw new InvalidDataException($"config.json: rope_scaling factor must be at least 1, not {scaling.Factor}.");
        }
        Activations.Validate(HiddenAct);
    }
}
