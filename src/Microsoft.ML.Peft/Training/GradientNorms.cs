using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

/// <summary>The gradient norms of one optimizer step, before clipping.</summary>
/// <param name="Global">The L2 norm over all trainable gradients (NaN or infinity when a gradient is not finite).</param>
/// <param name="ByGroup">The L2 norm per parameter group (<c>decay</c>, <c>no_decay</c>).</param>
public sealed record GradientNormReport(double Global, IReadOnlyDictionary<string, double> ByGroup);

/// <summary>Global-norm gradient measurement and clipping, in fp32 whatever the gradients' dtype.</summary>
public static class GradientNorms
{
    /// <summary>Measures the norms; one host sync per group.</summary>
    public static GradientNormReport Measure(IReadOnlyList<TrainableParameter> parameters)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var byGroup = new Dictionary<string, double>(StringComparer.Ordinal);
        double totalSquares = 0;
        foreach (var group in parameters.GroupBy(p => p.Group))
        {
            // Sum of squares per tensor, stacked, summed: a few ops per parameter and one sync per group.
            var squares = group.Select(p => p.Parameter.grad).OfType<Tensor>()
                               .Select(g => g.to(ScalarType.Float32).square().sum()).ToList();
            double sum = squares.Count == 0 ? 0 : stack(squares).sum().item<float>();
            byGroup[group.Key] = Math.Sqrt(sum);
            totalSquares += sum;
        }
        return new GradientNormReport(Math.Sqrt(totalSquares), byGroup);
    }

    /// <summary>
    /// Scales all gradients by <c>maxNorm / (norm + 1e-6)</c> when the measured <paramref name="globalNorm"/> exceeds
    /// <paramref name="maxNorm"/> (torch's rule); returns the factor applied (1 when none).
    /// </summary>
    public static double Clip(IReadOnlyList<TrainableParameter> parameters, double globalNorm, double maxNorm)
    {
        double factor = maxNorm / (globalNorm + 1e-6);
        if (factor >= 1) return 1;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var p in parameters) p.Parameter.grad?.mul_(factor);
        return factor;
    }

    /// <summary>Zeroes every gradient in place (keeping the buffers, so memory stays flat).</summary>
    public static void Zero(IReadOnlyList<TrainableParameter> parameters)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var p in parameters) p.Parameter.grad?.zero_();
    }
}
