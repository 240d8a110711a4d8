namespace Microsoft.ML.Peft.Training;

/// <summary>
/// Everything that shapes a training run, independent of model and PEFT method. Defaults are the usual
/// fine-tuning choices (AdamW at 5e-5, warmup 6% then cosine to 10% of the peak, clip at 1.0).
/// <see cref="Validate"/> rejects nonsense before any work, naming the option and its value.
/// </summary>
public sealed class TrainingOptions
{
    /// <summary>Peak learning rate. Must be positive.</summary>
    public double LearningRate { get; set; } = 5e-5;

    /// <summary>Decoupled (AdamW) weight decay; biases and normalisation weights never decay (<see cref="NoDecayNamePatterns"/>).</summary>
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>AdamW first-moment decay.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>AdamW second-moment decay.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>AdamW denominator epsilon.</summary>
    public double Epsilon { get; set; } = 1e-8;

    /// <summary>
    /// Parameter-name fragments (matched case-insensitively against each dot-separated segment) that exclude a
    /// parameter from weight decay: biases and LayerNorm/RMSNorm weights (GPT-2 names its norms <c>ln_1</c>, <c>ln_f</c>).
    /// </summary>
    public IReadOnlyList<string> NoDecayNamePatterns { get; set; } = new[] { "bias", "LayerNorm", "layer_norm", "norm", "ln_" };

    /// <summary>Passes over the training batches.</summary>
    public int Epochs { get; set; } = 3;

    /// <summary>Optimizer steps after which training ends even mid-epoch; null for <see cref="Epochs"/> full passes.</summary>
    public int? MaxSteps { get; set; }

    /// <summary>Examples per micro-batch (used for examples/s and the effective batch size; the batch factory makes the batches).</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Micro-batches per optimizer step; the effective batch is <see cref="BatchSize"/> times this.</summary>
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Clip the global gradient norm to this value; null for no clipping.</summary>
    public double? MaxGradientNorm { get; set; } = 1.0;

    /// <summary>Schedule after warmup.</summary>
    public LearningRateScheduleKind Schedule { get; set; } = LearningRateScheduleKind.Cosine;

    /// <summary>Warmup optimizer steps; when set it wins over <see cref="WarmupRatio"/>.</summary>
    public int? WarmupSteps { get; set; }

    /// <summary>Warmup as a fraction of the total optimizer steps (used when <see cref="WarmupSteps"/> is null).</summary>
    public double WarmupRatio { get; set; } = 0.06;

    /// <summary>Floor of the cosine schedule as a fraction of the peak learning rate.</summary>
    public double MinLearningRateRatio { get; set; } = 0.1;

    /// <summary>Evaluate every this many optimizer steps; 0 evaluates at the end of each epoch.</summary>
    public int EvaluateEverySteps { get; set; }

    /// <summary>Evaluations without improvement before stopping; null disables early stopping.</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>The evaluation metric that early stopping and best-weight tracking watch.</summary>
    public string EarlyStoppingMetric { get; set; } = EvaluationResult.LossKey;

    /// <summary>Whether <see cref="EarlyStoppingMetric"/> should go down or up.</summary>
    public MetricGoal EarlyStoppingGoal { get; set; } = MetricGoal.Minimize;

    /// <summary>The smallest change that counts as an improvement.</summary>
    public double EarlyStoppingMinDelta { get; set; }

    /// <summary>At the end, put back the trainable weights of the best evaluation (kept as an in-memory copy).</summary>
    public bool RestoreBestWeights { get; set; } = true;

    /// <summary>L2-SP strength: adds <c>strength * sum ||w - w0||^2</c> over pretrained trainable weights (w0 = start). 0 is off.</summary>
    public double L2SpStrength { get; set; }

    /// <summary>EWC strength: adds <c>strength * sum F (w - w0)^2</c> with a diagonal Fisher F from the Fisher batches. 0 is off.</summary>
    public double EwcStrength { get; set; }

    /// <summary>The compute precision the estimator should set up (see <see cref="TrainingPrecision"/>).</summary>
    public TrainingPrecision Precision { get; set; } = TrainingPrecision.Float32;

    /// <summary>
    /// Whether training manages native memory. At step boundaries (at most every 50 ms) the young .NET generations are
    /// collected: native memory that TorchSharp releases only when its short-lived objects are collected then returns
    /// within the step (about 145 MiB less peak for LoRA over bf16 MiniLM at batch 16 × 128). On Linux glibc's heap is
    /// managed too (process-wide; see <see cref="NativeHeap"/>): tensors come from the heap without being mapped and
    /// unmapped each step, and the heap is trimmed at a step boundary when resident memory outgrows the working set. On
    /// by default; an application that tunes malloc itself can turn it off, and <c>MALLOC_*_</c> variables or malloc
    /// tunables in the environment always win.
    /// </summary>
    public bool ManageNativeHeap { get; set; } = true;

    /// <summary>
    /// Seed for torch (dropout, initialisation) and for the per-epoch shuffle; null leaves both unseeded. Runs are
    /// bit-identical on CPU provided nothing else draws from torch's process-wide generator meanwhile.
    /// </summary>
    public int? Seed { get; set; } = 0;

    /// <summary>Save a resumable checkpoint every this many optimizer steps (and on cancellation); 0 is off.</summary>
    public int CheckpointEverySteps { get; set; }

    /// <summary>Where checkpoints go (one <c>checkpoint-STEP</c> subfolder each); required when checkpointing.</summary>
    public string? CheckpointFolder { get; set; }

    /// <summary>What a NaN or infinite loss or gradient does.</summary>
    public NonFiniteAction OnNonFinite { get; set; } = NonFiniteAction.Stop;

    /// <summary>Log a line every this many optimizer steps (when a logger is set); 0 logs epochs and evaluations only.</summary>
    public int LogEverySteps { get; set; } = 50;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option and its value.</summary>
    /// <param name="totalSteps">The optimizer steps the run will take, to check warmup against; null skips that check.</param>
    public void Validate(int? totalSteps = null)
    {
        Require(double.IsFinite(LearningRate) && LearningRate > 0, nameof(LearningRate), LearningRate, "must be a positive number");
        Require(double.IsFinite(WeightDecay) && WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be zero or positive");
        Require(Beta1 is >= 0 and < 1, nameof(Beta1), Beta1, "must be in [0, 1)");
        Require(Beta2 is >= 0 and < 1, nameof(Beta2), Beta2, "must be in [0, 1)");
        Require(Epsilon > 0, nameof(Epsilon), Epsilon, "must be positive");
        Require(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        Require(MaxSteps is null or >= 1, nameof(MaxSteps), MaxSteps, "must be at least 1 when set");
        Require(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Require(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), GradientAccumulationSteps, "must be at least 1");
        Require(MaxGradientNorm is null || (double.IsFinite(MaxGradientNorm.Value) && MaxGradientNorm > 0), nameof(MaxGradientNorm), MaxGradientNorm, "must be positive when set");
        Require(WarmupSteps is null or >= 0, nameof(WarmupSteps), WarmupSteps, "must be zero or positive");
        Require(WarmupRatio is >= 0 and <= 1, nameof(WarmupRatio), WarmupRatio, "must be in [0, 1]");
        Require(MinLearningRateRatio is >= 0 and <= 1, nameof(MinLearningRateRatio), MinLearningRateRatio, "must be in [0, 1]");
        Require(EvaluateEverySteps >= 0, nameof(EvaluateEverySteps), EvaluateEverySteps, "must be zero (per epoch) or positive");
        Require(EarlyStoppingPatience is null or >= 1, nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be at least 1 when set");
        Require(!string.IsNullOrWhiteSpace(EarlyStoppingMetric), nameof(EarlyStoppingMetric), EarlyStoppingMetric, "must name a metric");
        Require(EarlyStoppingMinDelta >= 0, nameof(EarlyStoppingMinDelta), EarlyStoppingMinDelta, "must be zero or positive");
        Require(double.IsFinite(L2SpStrength) && L2SpStrength >= 0, nameof(L2SpStrength), L2SpStrength, "must be zero or positive");
        Require(double.IsFinite(EwcStrength) && EwcStrength >= 0, nameof(EwcStrength), EwcStrength, "must be zero or positive");
        Require(CheckpointEverySteps >= 0, nameof(CheckpointEverySteps), CheckpointEverySteps, "must be zero (off) or positive");
        Require(CheckpointEverySteps == 0 || !string.IsNullOrWhiteSpace(CheckpointFolder), nameof(CheckpointFolder), CheckpointFolder,
                $"must be set when {nameof(CheckpointEverySteps)} is {CheckpointEverySteps}");
        Require(LogEverySteps >= 0, nameof(LogEverySteps), LogEverySteps, "must be zero or positive");
        if (totalSteps is int total)
        {
            Require(WarmupSteps is null || WarmupSteps <= total, nameof(WarmupSteps), WarmupSteps, $"exceeds the {total} total optimizer steps");
        }
    }

    /// <summary>Warmup steps for a run of <paramref name="totalSteps"/> optimizer steps.</summary>
    public int ResolveWarmupSteps(int totalSteps) => WarmupSteps ?? (int)Math.Ceiling(WarmupRatio * totalSteps);

    static void Require(bool ok, string option, object? value, string rule)
    {
        if (!ok) throw new ArgumentException($"TrainingOptions.{option} = {value?.ToString() ?? "null"} {rule}.", option);
    }
}
