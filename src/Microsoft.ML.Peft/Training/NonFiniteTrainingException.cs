namespace Microsoft.ML.Peft.Training;

/// <summary>
/// A loss or gradient became NaN or infinite. The trainable weights are those from before the failing step
/// (the step's update was never applied); <see cref="History"/> holds everything up to it.
/// </summary>
public sealed class NonFiniteTrainingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteTrainingException(int step, int epoch, string what, double value, TrainingHistory history)
        : base($"Training stopped at optimizer step {step} (epoch {epoch}): the {what} is {value}. " +
               "The weights are those from before this step. Lower the learning rate, enable clipping, check the data, " +
               $"or set {nameof(TrainingOptions)}.{nameof(TrainingOptions.OnNonFinite)} = {nameof(NonFiniteAction.SkipStep)}.")
    {
        (Step, Epoch, What, Value, History) = (step, epoch, what, value, history);
    }

    /// <summary>The 0-based optimizer step that failed.</summary>
    public int Step { get; }

    /// <summary>The 0-based epoch of that step.</summary>
    public int Epoch { get; }

    /// <summary>What was not finite: <c>loss</c> or <c>gradient norm</c>.</summary>
    public string What { get; }

    /// <summary>The offending value.</summary>
    public double Value { get; }

    /// <summary>The history up to the failure.</summary>
    public TrainingHistory History { get; }
}
