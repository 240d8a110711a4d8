using Microsoft.ML.Peft.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.IA3;

/// <summary>
/// (IA)^3 (Liu et al., 2022): learned vectors, initialised to ones, rescale the outputs of the targeted layers (keys
/// and values) and the input of the feed-forward output layer (the FFN activation). Names follow PEFT's <c>IA3Config</c>.
/// </summary>
public sealed class IA3Options : IPeftMethodOptions
{
    /// <summary>
    /// Layers to rescale (<c>target_modules</c>), <c>Linear</c> or GPT-2 <c>Conv1D</c>; null for PEFT's default (BERT:
    /// <c>key, value, output.dense</c>; GPT-2: <c>c_attn, mlp.c_proj</c>; LLaMA family: <c>k_proj, v_proj, down_proj</c>).
    /// </summary>
    public TargetModules? TargetModules { get; set; }

    /// <summary>
    /// Targets whose input, not output, is rescaled (<c>feedforward_modules</c>), matched by the same rules; null for
    /// PEFT's default (BERT: <c>output.dense</c>, which as a suffix also matches <c>attention.output.dense</c>, as in PEFT;
    /// GPT-2: <c>mlp.c_proj</c>; LLaMA family: <c>down_proj</c>).
    /// </summary>
    public IReadOnlyList<string>? FeedforwardModules { get; set; }

    /// <summary>Modules trained whole and saved with the adapter (<c>modules_to_save</c>); null means the task's head.</summary>
    public IReadOnlyList<string>? ModulesToSave { get; set; }

    /// <summary>Start the vectors at ones, so the model equals the base (<c>init_ia3_weights</c>). Default true.</summary>
    public bool InitIA3Weights { get; set; } = true;

    /// <summary>Written to <c>base_model_name_or_path</c>.</summary>
    public string? BaseModelNameOrPath { get; set; }

    /// <summary>Written to <c>inference_mode</c>; when true nothing is made trainable.</summary>
    public bool InferenceMode { get; set; }

    /// <inheritdoc/>
    public string PeftType => "IA3";

    /// <inheritdoc/>
    public IPeftModel Apply(nn.Module model) => IA3Model.Create(model, this);

    /// <summary>PEFT's per-architecture defaults: (target modules, feedforward modules).</summary>
    /// <exception cref="ArgumentException">No default is known for the architecture.</exception>
    public static (string[] Targets, string[] Feedforward) Defaults(string modelType) => modelType.ToLowerInvariant() switch
    {
        "bert" or "roberta" or "xlm-roberta" => (new[] { "key", "value", "output.dense" }, new[] { "output.dense" }),
        "gpt2" => (new[] { "c_attn", "mlp.c_proj" }, new[] { "mlp.c_proj" }),
        "llama" or "mistral" => (new[] { "k_proj", "v_proj", "down_proj" }, new[] { "down_proj" }),
        _ => throw new ArgumentException($"No default IA3 target modules are known for model type '{modelType}'; set them explicitly.", nameof(modelType)),
    };

    /// <summary>A copy, so the model's options cannot change under it.</summary>
    public IA3Options Clone() => (IA3Options)MemberwiseClone();
}
