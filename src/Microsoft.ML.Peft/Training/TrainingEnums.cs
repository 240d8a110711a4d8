namespace Microsoft.ML.Peft.Training;

/// <summary>How the learning rate moves after warmup.</summary>
public enum LearningRateScheduleKind
{
    /// <summary>Half a cosine from the peak down to <see cref="TrainingOptions.MinLearningRateRatio"/> of it.</summary>
    Cosine,
    /// <summary>A straight line from the peak down to zero at the last step.</summary>
    Linear,
    /// <summary>The peak learning rate throughout (after any warmup).</summary>
    Constant,
}

/// <summary>Whether a larger or a smaller value of the watched metric is better.</summary>
public enum MetricGoal
{
    /// <summary>Smaller is better (loss, error rate).</summary>
    Minimize,
    /// <summary>Larger is better (accuracy, F1).</summary>
    Maximize,
}

/// <summary>The number format of the forward and backward pass.</summary>
public enum TrainingPrecision
{
    /// <summary>Everything in fp32.</summary>
    Float32,
    /// <summary>
    /// bf16 weights and activations (the big lever on CPUs with AMX / AVX-512 bf16 and on GPUs); trainable
    /// parameters stored in bf16 are updated through fp32 master copies held by <see cref="AdamW"/>, and the
    /// loss and gradient norms are computed in fp32. The estimator casts the model before it hands over the
    /// parameters (<see cref="MixedPrecision.ToBFloat16(TorchSharp.torch.nn.Module)"/>).
    /// </summary>
    BFloat16,
}

/// <summary>What the trainer does when a loss or gradient is NaN or infinite.</summary>
public enum NonFiniteAction
{
    /// <summary>Stop with a <see cref="NonFiniteTrainingException"/> naming the step; the weights stay as they were before it.</summary>
    Stop,
    /// <summary>Drop that optimizer step (gradients discarded, weights untouched), record it, and go on.</summary>
    SkipStep,
}

/// <summary>Why training ended.</summary>
public enum TrainingStopReason
{
    /// <summary>All epochs (or <see cref="TrainingOptions.MaxSteps"/>) ran.</summary>
    Completed,
    /// <summary>The watched metric stopped improving for <see cref="TrainingOptions.EarlyStoppingPatience"/> evaluations.</summary>
    EarlyStopped,
    /// <summary>The cancellation token fired; training stopped at an optimizer-step boundary.</summary>
    Cancelled,
}
