using Microsoft.ML;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.TextClassification;

/// <summary>Fit reports progress to IProgress and MLContext.Log, honours cancellation, and keeps its history.</summary>
public class ObservabilityTests(TinyClassifierFixture fixture) : IClassFixture<TinyClassifierFixture>
{
    sealed class Collect : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];
        public void Report(TrainingProgress value) => Reports.Add(value);
    }

    [Fact]
    public void Progress_and_MLContext_Log_hear_from_Fit()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { lock (log) log.Add(e.Message); };
        var progress = new Collect();
        var options = TinyClassifierFixture.Options(epochs: 1);
        options.Progress = progress;
        var (_, classifier) = TinyClassifierFixture.Fit(ml, fixture.Model, options, rows: 16);
        classifier.Dispose();

        Assert.Equal(2, progress.Reports.Count); // 16 rows in batches of 8
        Assert.Equal(2, progress.Reports[^1].TotalSteps);
        lock (log)
        {
            Assert.Contains(log, l => l.Contains("LORA text classifier: 16 training rows", StringComparison.Ordinal));
            Assert.Contains(log, l => l.Contains("trainable params", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_cancelled_token_stops_Fit()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var options = TinyClassifierFixture.Options(epochs: 1);
        options.CancellationToken = cancel.Token;
        Assert.ThrowsAny<OperationCanceledException>(() => TinyClassifierFixture.Fit(new MLContext(seed: 1), fixture.Model, options, rows: 16));
    }

    [Fact]
    public void A_validation_fraction_adds_evaluations_and_the_plot_is_saved()
    {
        var options = TinyClassifierFixture.Options(epochs: 2);
        options.ValidationFraction = 0.25;
        var (_, classifier) = TinyClassifierFixture.Fit(new MLContext(seed: 1), fixture.Model, options, rows: 24);
        using (classifier)
        using (var folder = new TempFolder())
        {
            var history = classifier.TrainingHistory!;
            Assert.Equal(2, history.Evaluations.Count);
            Assert.Contains("accuracy", history.Evaluations[0].Metrics.Keys);
            Assert.Equal(2 * 3, history.Steps.Count); // 18 training rows in batches of 8
            classifier.SaveTrainingPlot(folder.File("training.png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(folder.File("training.png"))[..4]);
        }
    }
}
