namespace Microsoft.ML.Peft.Training;

/// <summary>
/// Patience on one metric: each evaluation either improves on the best by more than the minimum delta
/// (resetting the count) or adds one bad evaluation; at <c>patience</c> bad evaluations in a row it says stop.
/// Without patience it still tracks the best, so the best weights can be restored.
/// </summary>
public sealed class EarlyStopping
{
    readonly string _metric;
    readonly MetricGoal _goal;
    readonly int? _patience;
    readonly double _minDelta;

    /// <summary>Creates the tracker from the early-stopping options.</summary>
    public EarlyStopping(TrainingOptions options)
    {
        _metric = options.EarlyStoppingMetric;
        _goal = options.EarlyStoppingGoal;
        _patience = options.EarlyStoppingPatience;
        _minDelta = options.EarlyStoppingMinDelta;
    }

    /// <summary>The best value seen so far; null before the first evaluation.</summary>
    public double? Best { get; private set; }

    /// <summary>The optimizer step of the best evaluation.</summary>
    public int BestStep { get; private set; } = -1;

    /// <summary>Evaluations in a row without improvement.</summary>
    public int BadEvaluations { get; private set; }

    /// <summary>Whether patience ran out.</summary>
    public bool ShouldStop => _patience is int p && BadEvaluations >= p;

    /// <summary>Records an evaluation at <paramref name="step"/>; returns true when it is a new best.</summary>
    /// <exception cref="KeyNotFoundException">The watched metric is missing (the message lists the ones there are).</exception>
    public bool Observe(EvaluationResult result, int step)
    {
        double value = result[_metric];
        bool better = !double.IsNaN(value) && (Best is not double best ||
                      (_goal == MetricGoal.Minimize ? value < best - _minDelta : value > best + _minDelta));
        if (better)
        {
            (Best, BestStep, BadEvaluations) = (value, step, 0);
            return true;
        }
        BadEvaluations++;
        return false;
    }

    /// <summary>Restores the tracker from a checkpoint.</summary>
    public void Load(double? best, int bestStep, int badEvaluations) => (Best, BestStep, BadEvaluations) = (best, bestStep, badEvaluations);
}
