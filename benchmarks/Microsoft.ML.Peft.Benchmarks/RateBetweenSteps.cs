using System.Diagnostics;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// The sustained 1024^3 matmul rate of one dtype, sampled after every timed training step: the reference of MFU, measured
/// under the conditions the steps ran in. This VM's matmul rate drifts by 2-3x within minutes (AMX above all), so a rate
/// measured before or after training can belong to another spell than the steps it is compared with.
/// </summary>
/// <remarks>
/// The trainer reports progress after it has stopped a step's clock, so the samples are not part of any step's time.
/// Each step adds one untimed run (to bring the operands back into cache) and <see cref="TimedRunsPerStep"/> timed ones;
/// the rate is the median run, not the best: single AMX runs sometimes finish in half the usual time, and a peak taken
/// from such an outlier would understate every MFU against it.
/// </remarks>
sealed class RateBetweenSteps : IProgress<TrainingProgress>
{
    const int TimedRunsPerStep = 5;
    const double Flops = 2.0 * 1024 * 1024 * 1024;

    readonly ScalarType type;
    readonly int untimedSteps;
    readonly List<double> seconds = new();

    /// <summary>Samples in <paramref name="type"/> after each step past the first <paramref name="untimedSteps"/>.</summary>
    public RateBetweenSteps(ScalarType type, int untimedSteps) => (this.type, this.untimedSteps) = (type, untimedSteps);

    /// <summary>Timed runs so far.</summary>
    public int Count => seconds.Count;

    /// <summary>The median run's rate in FLOP/s; NaN before any sample.</summary>
    public double Median => seconds.Count == 0 ? double.NaN : Flops / seconds.Order().ElementAt(seconds.Count / 2);

    /// <inheritdoc/>
    public void Report(TrainingProgress progress)
    {
        if (progress.Step <= untimedSteps) return;
        // The operands are made anew each time and released before the next step, so they are not held through the
        // steps, whose peak RSS the benchmark reports.
        using var scope = NewDisposeScope();
        var a = randn(1024, 1024).to(type);
        var b = randn(1024, 1024).to(type);
        for (int run = 0; run <= TimedRunsPerStep; run++)
        {
            using var inner = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            matmul(a, b).sum().to(ScalarType.Float32).item<float>();  // item() waits for the product on any device
            if (run > 0) seconds.Add(clock.Elapsed.TotalSeconds);
        }
    }
}
