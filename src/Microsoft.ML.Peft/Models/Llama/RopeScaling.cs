using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>
/// <c>rope_scaling</c> of a LLaMA-family <c>config.json</c>: how rotary frequencies are stretched to reach beyond
/// the trained context. Supported: <c>linear</c> (positions divided by <c>factor</c>), <c>dynamic</c> (NTK-aware:
/// the base grows once the sequence outgrows <c>max_position_embeddings</c>) and <c>llama3</c> (LLaMA 3.1's
/// wavelength-dependent scaling).
/// </summary>
public sealed class RopeScaling
{
    /// <summary>The scaling method (newer configs).</summary>
    [JsonPropertyName("rope_type")] public string? RopeType { get; set; }
    /// <summary>The scaling method (older configs).</summary>
    [JsonPropertyName("type")] public string? Type { get; set; }
    /// <summary>Base of the rotary frequencies, present when this object is transformers 5's <c>rope_parameters</c>.</summary>
    [JsonPropertyName("rope_theta")] public double? RopeTheta { get; set; }
    /// <summary>Stretch factor.</summary>
    [JsonPropertyName("factor")] public double Factor { get; set; } = 1.0;
    /// <summary><c>llama3</c>: wavelengths longer than original_context / low_freq_factor are fully scaled.</summary>
    [JsonPropertyName("low_freq_factor")] public double? LowFreqFactor { get; set; }
    /// <summary><c>llama3</c>: wavelengths shorter than original_context / high_freq_factor are not scaled.</summary>
    [JsonPropertyName("high_freq_factor")] public double? HighFreqFactor { get; set; }
    /// <summary><c>llama3</c>: the context the model was pretrained with.</summary>
    [JsonPropertyName("original_max_position_embeddings")] public int? OriginalMaxPositionEmbeddings { get; set; }
    /// <summary>Fields not modelled here, kept for round trips.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The method, whichever field names it; <c>default</c> when neither does.</summary>
    [JsonIgnore] public string Method => RopeType ?? Type ?? "default";
}
