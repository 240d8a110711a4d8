using Microsoft.ML.Peft.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Training;

[Collection(TrainingCollection.Name)]
public class SafetyTests
{
    [Fact]
    public void NaNLoss_StopsNamingTheStep_AndKeepsTheLastGoodWeights()
    {
        using var toy = new ToyTask();
        Dictionary<string, Tensor>? lastGood = null;
        int calls = 0;
        var options = new TrainingOptions { BatchSize = 8, Epochs = 2, LearningRate = 1e-2 };
        var trainer = new Trainer<(Tensor X, Tensor Y)>(options, toy.Model.named_parameters(),
            b => ++calls == 6 ? toy.Loss(b) * float.NaN : toy.Loss(b))
        {
            Progress = new SyncProgress(p => { if (p.Step == 5) lastGood = toy.Snapshot(); }),
        };
        var error = Assert.Throws<NonFiniteTrainingException>(() => trainer.Fit(e => toy.Batches(e, 8), 8));
        Assert.Equal(5, error.Step);
        Assert.Equal("loss", error.What);
        Assert.Contains("step 5", error.Message);
        Assert.Equal(5, error.History.Steps.Count);
        Assert.True(Weights.BitEqual(lastGood!, toy.Snapshot()), "weights are those after the last good step");
    }

    [Fact]
    public void NaNGradient_WithAFiniteLoss_IsCaughtToo()
    {
        using var toy = new ToyTask();
        var before = toy.Snapshot();
        var head = toy.Model.named_parameters().First(p => p.name == "head.weight").parameter;
        // sqrt at 0 is finite but its derivative is infinite; times 0 that is NaN in the gradient only.
        var trainer = new Trainer<(Tensor X, Tensor Y)>(new TrainingOptions { BatchSize = 8, Epochs = 1 }, toy.Model.named_parameters(),
            b => toy.Loss(b) + (head * 0).sum().sqrt());
        var error = Assert.Throws<NonFiniteTrainingException>(() => trainer.Fit(e => toy.Batches(e, 8), 8));
        Assert.Equal((0, "gradient norm"), (error.Step, error.What));
        Assert.True(Weights.BitEqual(before, toy.Snapshot()));
    }

    [Fact]
    public void NaNLoss_CanSkipTheStep()
    {
        using var toy = new ToyTask();
        int calls = 0;
        var options = new TrainingOptions { BatchSize = 8, Epochs = 1, OnNonFinite = NonFiniteAction.SkipStep };
        var trainer = new Trainer<(Tensor X, Tensor Y)>(options, toy.Model.named_parameters(),
            b => ++calls == 3 ? toy.Loss(b) + float.PositiveInfinity : toy.Loss(b));
        var result = trainer.Fit(e => toy.Batches(e, 8), 8);
        Assert.Equal(8, result.History.Steps.Count);
        Assert.Equal(new[] { 2 }, result.History.Steps.Where(s => s.Skipped).Select(s => s.Step));
        Assert.True(double.IsFinite(toy.ValidationLoss()));
    }

    public static TheoryData<Action<TrainingOptions>, string> BadOptions => new()
    {
        { o => o.LearningRate = 0, "LearningRate = 0" },
        { o => o.LearningRate = -1e-3, "LearningRate = -0.001" },
        { o => o.BatchSize = 0, "BatchSize = 0" },
        { o => o.GradientAccumulationSteps = 0, "GradientAccumulationSteps = 0" },
        { o => o.Epochs = 0, "Epochs = 0" },
        { o => o.WeightDecay = -1, "WeightDecay = -1" },
        { o => o.MaxGradientNorm = 0, "MaxGradientNorm = 0" },
        { o => o.WarmupRatio = 1.5, "WarmupRatio = 1.5" },
        { o => o.Beta2 = 1, "Beta2 = 1" },
        { o => o.EarlyStoppingPatience = 0, "EarlyStoppingPatience = 0" },
        { o => o.L2SpStrength = double.NaN, "L2SpStrength = NaN" },
        { o => o.CheckpointEverySteps = 10, "CheckpointFolder = null" },
        { o => o.WarmupSteps = 100, "WarmupSteps = 100 exceeds the 8 total optimizer steps" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void InvalidOptions_AreRejectedBeforeAnyWork_NamingOptionAndValue(Action<TrainingOptions> spoil, string expected)
    {
        using var toy = new ToyTask();
        var before = toy.Snapshot();
        var options = new TrainingOptions { BatchSize = 8, Epochs = 1 };
        spoil(options);
        bool lossCalled = false;
        var error = Assert.ThrowsAny<ArgumentException>(() =>
            new Trainer<(Tensor X, Tensor Y)>(options, toy.Model.named_parameters(), b => { lossCalled = true; return toy.Loss(b); })
                .Fit(e => toy.Batches(e, 8), 8));
        Assert.Contains("TrainingOptions." + expected, error.Message);
        Assert.False(lossCalled);
        Assert.True(Weights.BitEqual(before, toy.Snapshot()));
    }

    [Fact]
    public void NothingTrainable_IsRejected()
    {
        using var toy = new ToyTask();
        foreach (var p in toy.Model.parameters()) p.requires_grad = false;
        var error = Assert.Throws<ArgumentException>(() => toy.Trainer(new TrainingOptions()));
        Assert.Contains("requires gradients", error.Message);
    }
}
