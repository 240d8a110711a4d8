using Microsoft.ML.Peft.Core;

namespace Microsoft.ML.Peft.Methods.Lora;

/// <summary>
/// LoRA (Hu et al., 2021): each targeted <c>Linear</c> computes <c>y = W x + b + B(A(dropout(x))) * scaling</c>
/// with A (r, in) and B (out, r) trainable and W frozen; <c>scaling = alpha / r</c> (rsLoRA: <c>alpha / sqrt(r)</c>).
/// Property names follow PEFT's <c>LoraConfig</c> and its <c>adapter_config.json</c>.
/// </summary>
public sealed class LoraOptions : IPeftMethodOptions
{
    /// <inheritdoc/>
    public string PeftType => "LORA";

    /// <inheritdoc/>
    public IPeftModel Apply(TorchSharp.torch.nn.Module model) => LoraModel.Create(model, this);

    /// <summary>Rank r of the update (<c>r</c>). Default 8.</summary>
    public int Rank { get; set; } = 8;

    /// <summary>Scale numerator (<c>lora_alpha</c>). Default 8.</summary>
    public double Alpha { get; set; } = 8;

    /// <summary>Dropout on the adapter's input during training (<c>lora_dropout</c>). Default 0.</summary>
    public double Dropout { get; set; }

    /// <summary>Which linear layers to adapt (<c>target_modules</c>, <c>layers_to_transform</c>, <c>exclude_modules</c>); null for the architecture's default.</summary>
    public TargetModules? TargetModules { get; set; }

    /// <summary>Scale by <c>alpha / sqrt(r)</c> instead of <c>alpha / r</c> (<c>use_rslora</c>).</summary>
    public bool UseRsLora { get; set; }

    /// <summary>
    /// DoRA (<c>use_dora</c>; Liu et al., 2024): a trainable magnitude m (out), initialised to the row norms of W, and output
    /// <c>m ⊙ (W + s·B A) x / ||W + s·B A|| + b</c> (norm per output, detached as in PEFT). Not for a 4-bit base.
    /// </summary>
    public bool UseDora { get; set; }

    /// <summary>Which biases train (<c>bias</c>).</summary>
    public LoraBias Bias { get; set; } = LoraBias.None;

    /// <summary>How A and B start (<c>init_lora_weights</c>).</summary>
    public LoraInit Init { get; set; } = LoraInit.Default;

    /// <summary>Modules trained whole and saved with the adapter (<c>modules_to_save</c>); null means the task's head (<c>classifier</c> for SEQ_CLS).</summary>
    public IReadOnlyList<string>? ModulesToSave { get; set; }

    /// <summary>Whether the base layer stores its weight as (in, out), as GPT-2's Conv1D does (<c>fan_in_fan_out</c>). Set from the targeted layers when the adapter is created (Conv1D: true), as PEFT does; written to the file.</summary>
    public bool FanInFanOut { get; set; }

    /// <summary>Per-module rank overrides (<c>rank_pattern</c>): key matched against the module name as PEFT does (<c>(.*\.)?key</c>, full match).</summary>
    public IReadOnlyDictionary<string, int> RankPattern { get; set; } = new Dictionary<string, int>();

    /// <summary>Per-module alpha overrides (<c>alpha_pattern</c>), matched like <see cref="RankPattern"/>.</summary>
    public IReadOnlyDictionary<string, double> AlphaPattern { get; set; } = new Dictionary<string, double>();

    /// <summary>PEFT's <c>task_type</c> (<c>SEQ_CLS</c>, <c>CAUSAL_LM</c>, ...); null to infer from the model.</summary>
    public string? TaskType { get; set; }

    /// <summary>Written to <c>base_model_name_or_path</c>.</summary>
    public string? BaseModelNameOrPath { get; set; }

    /// <summary>Written to <c>revision</c>.</summary>
    public string? Revision { get; set; }

    /// <summary>Written to <c>inference_mode</c>; when true nothing is made trainable.</summary>
    public bool InferenceMode { get; set; }

    /// <summary>Rank of the module named <paramref name="moduleName"/>, after <see cref="RankPattern"/>.</summary>
    public int RankFor(string moduleName) => Lookup(RankPattern, moduleName, Rank);

    /// <summary>Alpha of the module named <paramref name="moduleName"/>, after <see cref="AlphaPattern"/>.</summary>
    public double AlphaFor(string moduleName) => Lookup(AlphaPattern, moduleName, Alpha);

    /// <summary>The factor on <c>B A x</c>: <c>alpha / r</c>, or <c>alpha / sqrt(r)</c> with rsLoRA.</summary>
    public double Scaling(int rank, double alpha) => UseRsLora ? alpha / Math.Sqrt(rank) : alpha / rank;

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">r or alpha not positive, dropout outside [0, 1).</exception>
    public void Validate()
    {
        if (Rank <= 0) throw new ArgumentOutOfRangeException(nameof(Rank), Rank, "LoRA rank r must be positive.");
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "lora_alpha must be positive and finite.");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "lora_dropout must be in [0, 1).");
        foreach (var (key, r) in RankPattern)
            if (r <= 0) throw new ArgumentOutOfRangeException(nameof(RankPattern), r, $"rank_pattern['{key}'] must be positive.");
        foreach (var (key, a) in AlphaPattern)
            if (!(a > 0)) throw new ArgumentOutOfRangeException(nameof(AlphaPattern), a, $"alpha_pattern['{key}'] must be positive.");
    }

    /// <summary>A copy, so an adapter's options cannot change under it.</summary>
    public LoraOptions Clone() => (LoraOptions)MemberwiseClone();

    static T Lookup<T>(IReadOnlyDictionary<string, T> pattern, string moduleName, T fallback)
    {
        // PEFT: the first key k for which re.match(rf"(.*\.)?({k})$", name) succeeds.
        foreach (var (key, value) in pattern)
            if (TargetModuleMatcher.FullMatch(moduleName, $@"(.*\.)?(?:{key})")) return value;
        return fallback;
    }
}
