using Xunit.Abstractions;
using Microsoft.ML.Peft.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Training;

[Collection(TrainingCollection.Name)]
public class ForgettingProtectionTests(ITestOutputHelper output)
{
    (double Distance, double FinalLoss, TrainingResult Result) FullFineTune(double l2sp, double ewc = 0)
    {
        using var toy = new ToyTask(seed: 11);
        var start = toy.Snapshot();
        var options = new TrainingOptions { BatchSize = 8, Epochs = 10, LearningRate = 3e-2, L2SpStrength = l2sp, EwcStrength = ewc, Seed = 5 };
        var trainer = new Trainer<(Tensor X, Tensor Y)>(options, toy.Model.named_parameters(), toy.Loss)
        {
            FisherBatches = ewc > 0 ? toy.Batches(new TrainingEpoch(0, 9), 8) : null,
        };
        var result = trainer.Fit(e => toy.Batches(e, 8), 8);
        return (Weights.Distance(start, toy.Snapshot()), toy.ValidationLoss(), result);
    }

    [Fact]
    public void L2Sp_KeepsWeightsCloserToTheStart()
    {
        var free = FullFineTune(l2sp: 0);
        var anchored = FullFineTune(l2sp: 0.5);
        output.WriteLine($"||w - w0||: no penalty {free.Distance:F4} (loss {free.FinalLoss:F4}); L2-SP 0.5 {anchored.Distance:F4} (loss {anchored.FinalLoss:F4})");
        Assert.True(anchored.Distance < 0.6 * free.Distance, $"L2-SP {anchored.Distance} vs free {free.Distance}");
        Assert.All(anchored.Result.History.Steps.Skip(1), s => Assert.True(s.Penalty > 0));
        Assert.All(free.Result.History.Steps, s => Assert.Equal(0, s.Penalty));
    }

    [Fact]
    public void Ewc_EstimatesAFisher_AndKeepsWeightsCloser()
    {
        var free = FullFineTune(l2sp: 0);
        var ewc = FullFineTune(l2sp: 0, ewc: 50);
        output.WriteLine($"||w - w0||: no penalty {free.Distance:F4}; EWC 50 {ewc.Distance:F4} (loss {ewc.FinalLoss:F4})");
        Assert.True(ewc.Distance < 0.8 * free.Distance, $"EWC {ewc.Distance} vs free {free.Distance}");
    }

    [Fact]
    public void Ewc_WithoutFisherBatches_IsRejected()
    {
        using var toy = new ToyTask();
        var error = Assert.Throws<ArgumentException>(() => toy.Fit(new TrainingOptions { BatchSize = 8, EwcStrength = 1 }));
        Assert.Contains("EwcStrength = 1", error.Message);
    }
}
