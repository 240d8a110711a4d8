using Microsoft.ML.Peft.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Training;

[Collection(TrainingCollection.Name)]
public class EarlyStoppingTests
{
    [Fact]
    public void StopsAfterPatienceOnAScriptedMetric_AndRestoresTheBestWeights()
    {
        using var toy = new ToyTask();
        // Scripted validation loss per epoch: best at epoch 2, then two worse values -> patience 2 stops after epoch 4.
        double[] script = { 1.0, 0.8, 0.6, 0.7, 0.65, 0.5, 0.4 };
        int calls = 0;
        Dictionary<string, Tensor>? atBest = null;
        var options = new TrainingOptions
        {
            BatchSize = 16, Epochs = 7, LearningRate = 1e-2, EarlyStoppingPatience = 2, EarlyStoppingMetric = "loss",
            EarlyStoppingGoal = MetricGoal.Minimize, Seed = 4,
        };
        var result = toy.Fit(options, evaluate: () =>
        {
            if (calls == 2) atBest = toy.Snapshot();
            return EvaluationResult.FromLoss(script[calls++], accuracy: 0.5);
        });

        Assert.Equal(TrainingStopReason.EarlyStopped, result.StopReason);
        Assert.Equal(5, calls);                      // epochs 0..4 evaluated, then stopped
        Assert.Equal(5 * 4, result.StepsCompleted);  // 4 steps per epoch
        Assert.Equal(0.6, result.BestMetric);
        Assert.Equal(3 * 4, result.BestStep);
        Assert.True(result.RestoredBestWeights);
        Assert.True(Weights.BitEqual(atBest!, toy.Snapshot()), "the model holds the weights of the best evaluation");
        Assert.Equal(new[] { 4, 8, 12, 16, 20 }, result.History.Evaluations.Select(e => e.Step));
    }

    [Fact]
    public void MaximizedMetric_EveryNSteps()
    {
        using var toy = new ToyTask();
        double[] script = { 0.5, 0.6, 0.6, 0.55, 0.9 };
        int calls = 0;
        var options = new TrainingOptions
        {
            BatchSize = 8, Epochs = 3, EvaluateEverySteps = 3, EarlyStoppingPatience = 2, EarlyStoppingMetric = "accuracy",
            EarlyStoppingGoal = MetricGoal.Maximize, EarlyStoppingMinDelta = 0.01,
        };
        var result = toy.Fit(options, evaluate: () => EvaluationResult.FromLoss(1, accuracy: script[calls++]));
        Assert.Equal(TrainingStopReason.EarlyStopped, result.StopReason);
        Assert.Equal(4, calls);                // 0.6 (equal, not better by 0.01) and 0.55 are the two bad ones
        Assert.Equal(12, result.StepsCompleted);
        Assert.Equal(6, result.BestStep);
    }

    [Fact]
    public void MissingMetric_IsNamed()
    {
        using var toy = new ToyTask();
        var options = new TrainingOptions { BatchSize = 16, Epochs = 1, EarlyStoppingMetric = "f1" };
        var error = Assert.Throws<KeyNotFoundException>(() => toy.Fit(options, evaluate: () => EvaluationResult.FromLoss(1, 0.5)));
        Assert.Contains("'f1'", error.Message);
        Assert.Contains("accuracy", error.Message);
    }
}
