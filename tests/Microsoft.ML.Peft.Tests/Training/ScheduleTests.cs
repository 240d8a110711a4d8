using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.Training;

[Collection(TrainingCollection.Name)]
public class ScheduleTests
{
    const double Peak = 1e-3;

    [Fact]
    public void Cosine_MatchesClosedFormAfterWarmup_AndWarmupStartsNearZero()
    {
        var s = new LearningRateSchedule(LearningRateScheduleKind.Cosine, Peak, WarmupSteps: 10, TotalSteps: 110, MinLearningRateRatio: 0.1);
        Assert.Equal(Peak / 10, s.At(0), 15);        // first step: a tenth of the peak, not zero
        Assert.Equal(Peak * 5 / 10, s.At(4), 15);
        Assert.Equal(Peak, s.At(9), 15);             // last warmup step reaches the peak
        Assert.Equal(Peak, s.At(10), 15);            // cosine starts at the peak
        foreach (int step in new[] { 10, 35, 60, 85, 109 })
        {
            double p = (step - 10) / 100.0;
            double expected = Peak * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * p)));
            Assert.Equal(expected, s.At(step), 15);
        }
        Assert.Equal(Peak * 0.55, s.At(60), 15);     // halfway: midway between peak and floor
        Assert.True(s.At(109) > Peak * 0.1 && s.At(109) < Peak * 0.1003);
        Assert.Equal(Peak * 0.1, s.At(500), 15);     // beyond the end: the floor
    }

    [Fact]
    public void Linear_And_Constant_MatchClosedForm()
    {
        var linear = new LearningRateSchedule(LearningRateScheduleKind.Linear, Peak, 4, 24);
        Assert.Equal(Peak / 4, linear.At(0), 15);
        Assert.Equal(Peak, linear.At(4), 15);
        Assert.Equal(Peak * (1 - 10 / 20.0), linear.At(14), 15);
        Assert.Equal(Peak * (1 - 19 / 20.0), linear.At(23), 15);

        var constant = new LearningRateSchedule(LearningRateScheduleKind.Constant, Peak, 0, 50);
        Assert.All(new[] { 0, 1, 25, 49 }, step => Assert.Equal(Peak, constant.At(step)));
    }

    [Fact]
    public void WarmupRatio_ResolvesAgainstTotalSteps_AndTrainerUsesTheSchedule()
    {
        var options = new TrainingOptions { WarmupRatio = 0.25, LearningRate = Peak, Schedule = LearningRateScheduleKind.Linear };
        Assert.Equal(25, options.ResolveWarmupSteps(100));
        options.WarmupSteps = 3;
        Assert.Equal(3, options.ResolveWarmupSteps(100));

        using var toy = new ToyTask();
        var fit = new TrainingOptions { Epochs = 2, BatchSize = 8, LearningRate = Peak, WarmupSteps = 4, Schedule = LearningRateScheduleKind.Cosine, Seed = 1 };
        var result = toy.Fit(fit);
        var schedule = LearningRateSchedule.From(fit, 16);
        Assert.Equal(16, result.History.Steps.Count);
        Assert.All(result.History.Steps, s => Assert.Equal(schedule.At(s.Step), s.LearningRate));
    }
}
