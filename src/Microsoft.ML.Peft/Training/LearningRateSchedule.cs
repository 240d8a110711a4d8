namespace Microsoft.ML.Peft.Training;

/// <summary>
/// Learning rate as a pure, closed-form function of the optimizer step, so a resumed run needs only the
/// step number to continue exactly where it left off.
/// </summary>
public sealed record LearningRateSchedule(LearningRateScheduleKind Kind, double PeakLearningRate, int WarmupSteps, int TotalSteps,
                                          double MinLearningRateRatio = 0.1)
{
    /// <summary>The schedule that <paramref name="options"/> describe for a run of <paramref name="totalSteps"/> optimizer steps.</summary>
    public static LearningRateSchedule From(TrainingOptions options, int totalSteps) =>
        new(options.Schedule, options.LearningRate, options.ResolveWarmupSteps(totalSteps), totalSteps, options.MinLearningRateRatio);

    /// <summary>
    /// The learning rate of optimizer step <paramref name="step"/> (0-based).
    /// Warmup: <c>peak * (step + 1) / warmup</c>, so the first step is small but not wasted at zero and step
    /// <c>warmup - 1</c> reaches the peak. After it, with <c>p = (step - warmup) / (total - warmup)</c> in [0, 1):
    /// cosine <c>floor + (peak - floor) * (1 + cos(pi p)) / 2</c> with <c>floor = ratio * peak</c>;
    /// linear <c>peak * (1 - p)</c>; constant <c>peak</c>.
    /// </summary>
    public double At(int step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "The step must not be negative.");
        if (step < WarmupSteps) return PeakLearningRate * (step + 1) / WarmupSteps;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps));
        return Kind switch
        {
            LearningRateScheduleKind.Cosine =>
                PeakLearningRate * (MinLearningRateRatio + (1 - MinLearningRateRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress))),
            LearningRateScheduleKind.Linear => PeakLearningRate * (1 - progress),
            _ => PeakLearningRate,
        };
    }
}
