using System.Diagnostics;
using Microsoft.ML.Peft.Training;

/// <summary>A one-line progress bar redrawn with a carriage return after every optimizer step (synchronously, on the training thread).</summary>
sealed class ConsoleProgressBar : IProgress<TrainingProgress>
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    double _smoothedLoss = double.NaN;

    public void Report(TrainingProgress value)
    {
        if (value.LastStep is { Skipped: false } step)
            _smoothedLoss = double.IsNaN(_smoothedLoss) ? step.Loss : 0.9 * _smoothedLoss + 0.1 * step.Loss;
        const int width = 30;
        int filled = (int)Math.Round(value.Fraction * width);
        double elapsed = _clock.Elapsed.TotalSeconds;
        double eta = value.Step > 0 ? elapsed / value.Step * (value.TotalSteps - value.Step) : 0;
        string evaluation = value.LastEvaluation is { } e ? "  val " + string.Join(" ", e.Metrics.Select(m => $"{m.Key} {m.Value:F4}")) : "";
        Console.Write($"\r  [{new string('#', filled)}{new string('.', width - filled)}] step {value.Step}/{value.TotalSteps} " +
                      $"epoch {value.Epoch + 1}  loss {_smoothedLoss:F4}  {elapsed:F0}s elapsed, ~{eta:F0}s left{evaluation}   ");
        if (value.Step == value.TotalSteps) Console.WriteLine();
    }
}
