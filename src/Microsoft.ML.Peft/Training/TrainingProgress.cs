namespace Microsoft.ML.Peft.Training;

/// <summary>What <see cref="IProgress{T}"/> receives after every optimizer step and every evaluation.</summary>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="TotalSteps">Optimizer steps planned.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="LastStep">The record of the step just taken.</param>
/// <param name="LastEvaluation">The evaluation just run; null after an ordinary step.</param>
public sealed record TrainingProgress(int Step, int TotalSteps, int Epoch, StepRecord? LastStep, EvaluationRecord? LastEvaluation)
{
    /// <summary>Fraction done, 0 to 1.</summary>
    public double Fraction => TotalSteps == 0 ? 1 : (double)Step / TotalSteps;
}

/// <summary>The outcome of <see cref="Trainer{TBatch}.Fit"/>.</summary>
/// <param name="History">Everything measured.</param>
/// <param name="StopReason">Why it ended.</param>
/// <param name="StepsCompleted">Optimizer steps taken (including any resumed from a checkpoint).</param>
/// <param name="BestMetric">The best value of the watched metric, when evaluations ran.</param>
/// <param name="BestStep">The step of that evaluation (-1 when none).</param>
/// <param name="RestoredBestWeights">Whether the weights now in the model are the best evaluation's.</param>
/// <param name="Memory">Process memory at the end.</param>
public sealed record TrainingResult(TrainingHistory History, TrainingStopReason StopReason, int StepsCompleted, double? BestMetric,
                                    int BestStep, bool RestoredBestWeights, MemoryReport Memory);
