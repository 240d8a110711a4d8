namespace Microsoft.ML.Peft.Training;

/// <summary>Metrics from one validation pass, by name (<c>loss</c>, <c>accuracy</c>, or anything the caller measures).</summary>
public sealed class EvaluationResult
{
    /// <summary>The conventional name of the validation loss.</summary>
    public const string LossKey = "loss";

    /// <summary>The conventional name of the validation accuracy.</summary>
    public const string AccuracyKey = "accuracy";

    /// <summary>Creates a result from named metrics.</summary>
    public EvaluationResult(IReadOnlyDictionary<string, double> metrics) =>
        Metrics = new Dictionary<string, double>(metrics, StringComparer.Ordinal);

    /// <summary>Creates a result with a loss and, optionally, an accuracy.</summary>
    public static EvaluationResult FromLoss(double loss, double? accuracy = null)
    {
        var metrics = new Dictionary<string, double> { [LossKey] = loss };
        if (accuracy is double a) metrics[AccuracyKey] = a;
        return new EvaluationResult(metrics);
    }

    /// <summary>All metrics by name.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>The value of <paramref name="name"/>; throws naming the metrics there are when it is missing.</summary>
    public double this[string name] => Metrics.TryGetValue(name, out double v)
        ? v
        : throw new KeyNotFoundException($"The evaluation has no metric '{name}'; it has: {string.Join(", ", Metrics.Keys)}.");
}
