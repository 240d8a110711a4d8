using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Training;

[Collection(TrainingCollection.Name)]
public class DeterminismTests
{
    // Dropout (torch RNG), shuffling (our Random), accumulation, L2-SP anchor, evaluation and early-stopping state:
    // everything a resume has to carry.
    static TrainingOptions Options(string? folder = null) => new()
    {
        BatchSize = 4, GradientAccumulationSteps = 2, Epochs = 3, LearningRate = 1e-2, WarmupSteps = 3, L2SpStrength = 0.01,
        EvaluateEverySteps = 4, Seed = 123, CheckpointEverySteps = folder is null ? 0 : 5, CheckpointFolder = folder,
    };

    static (Dictionary<string, Tensor> Weights, TrainingResult Result) Train(TrainingOptions options, CancellationToken ct = default,
                                                                               IProgress<TrainingProgress>? progress = null, string? resume = null)
    {
        using var toy = new ToyTask(examples: 48, dropout: 0.2, seed: 99);
        var result = toy.Fit(options, evaluate: () => EvaluationResult.FromLoss(toy.ValidationLoss()), progress, ct, resume);
        return (toy.Snapshot(), result);
    }

    [Fact]
    public void SameSeed_GivesBitIdenticalWeightsAndHistory()
    {
        var a = Train(Options());
        var b = Train(Options());
        Assert.True(Weights.BitEqual(a.Weights, b.Weights));
        Assert.Equal(a.Result.History.Steps.Select(s => s.Loss), b.Result.History.Steps.Select(s => s.Loss));
        var other = Options();
        other.Seed = 124;
        Assert.False(Weights.BitEqual(a.Weights, Train(other).Weights), "a different seed changes the run");
    }

    [Fact]
    public void InterruptedAndResumed_EqualsUninterrupted_BitForBit()
    {
        using var folder = new TempFolder();
        var full = Train(Options(Path.Combine(folder.Path, "full")));
        Assert.Equal(18, full.Result.StepsCompleted); // 12 micro-batches per epoch / 2 = 6 steps x 3 epochs

        // Interrupt after step 7 (mid-epoch 1, between checkpoints): cancellation saves checkpoint-000007.
        using var cts = new CancellationTokenSource();
        string root = Path.Combine(folder.Path, "interrupted");
        var first = Train(Options(root), cts.Token, new SyncProgress(p => { if (p.Step == 7) cts.Cancel(); }));
        Assert.Equal(TrainingStopReason.Cancelled, first.Result.StopReason);
        string? latest = TrainingCheckpoint.Latest(root);
        Assert.EndsWith("checkpoint-000007", latest);

        var resumed = Train(Options(root), resume: latest);
        Assert.Equal(TrainingStopReason.Completed, resumed.Result.StopReason);
        for (int i = 0; i < full.Result.History.Steps.Count; i++)
            Assert.True(full.Result.History.Steps[i].Loss == resumed.Result.History.Steps[i].Loss,
                        $"step {i}: {full.Result.History.Steps[i]} vs {resumed.Result.History.Steps[i]}");
        Assert.True(Weights.BitEqual(full.Weights, resumed.Weights), "resumed weights equal uninterrupted weights bit for bit");
        Assert.Equal(full.Result.History.Steps.Select(s => s.Loss), resumed.Result.History.Steps.Select(s => s.Loss));
        Assert.Equal(full.Result.History.Evaluations.Select(e => e.Metrics["loss"]), resumed.Result.History.Evaluations.Select(e => e.Metrics["loss"]));
        Assert.Equal(full.Result.BestStep, resumed.Result.BestStep);
    }

    [Fact]
    public void Cancellation_StopsAtAStepBoundary_WithUsableWeights()
    {
        using var cts = new CancellationTokenSource();
        Dictionary<string, Tensor>? atThree = null;
        using var toy = new ToyTask();
        var options = new TrainingOptions { BatchSize = 8, Epochs = 5, LearningRate = 1e-2 };
        var result = toy.Fit(options, progress: new SyncProgress(p =>
        {
            if (p.Step != 3) return;
            atThree = toy.Snapshot();
            cts.Cancel();
        }), ct: cts.Token);
        Assert.Equal(TrainingStopReason.Cancelled, result.StopReason);
        Assert.Equal(3, result.StepsCompleted);
        Assert.Equal(3, result.History.Steps.Count);
        Assert.True(Weights.BitEqual(atThree!, toy.Snapshot()));
        Assert.True(double.IsFinite(toy.ValidationLoss()));
    }
}
