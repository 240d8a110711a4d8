using Microsoft.ML.Peft.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Training;

[Collection(TrainingCollection.Name)]
public class OptimizerTests
{
    static Dictionary<string, Tensor> FirstStepGradients(int batchSize, int accumulation)
    {
        using var toy = new ToyTask(examples: 16);
        Dictionary<string, Tensor>? grads = null;
        var options = new TrainingOptions { BatchSize = batchSize, GradientAccumulationSteps = accumulation, Epochs = 1, MaxGradientNorm = null, Seed = 3 };
        var trainer = toy.Trainer(options, beforeStep: ps =>
            grads ??= ps.ToDictionary(p => p.Name, p => p.Parameter.grad!.detach().clone().DetachFromDisposeScope()));
        // The same 16 examples in the same order, as 4 micro-batches of 4 or 1 batch of 16.
        var result = trainer.Fit(e => toy.Batches(new TrainingEpoch(0, 5), batchSize), 16 / batchSize);
        Assert.Single(result.History.Steps);
        return grads!;
    }

    [Fact]
    public void FourMicroBatchesOfFour_EqualOneBatchOfSixteen()
    {
        var accumulated = FirstStepGradients(batchSize: 4, accumulation: 4);
        var whole = FirstStepGradients(batchSize: 16, accumulation: 1);
        foreach (var (name, g) in whole)
        {
            double scale = g.abs().max().item<float>();
            double diff = (g - accumulated[name]).abs().max().item<float>();
            Assert.True(diff <= 1e-6 * scale + 1e-9, $"{name}: max diff {diff} vs max |g| {scale}");
        }
    }

    [Fact]
    public void WeightDecay_SkipsBiasesAndNorms()
    {
        Assert.False(TrainableParameters.Decays("bert.encoder.layer.0.attention.output.LayerNorm.weight", new TrainingOptions().NoDecayNamePatterns));
        Assert.False(TrainableParameters.Decays("model.layers.0.input_layernorm.weight", new TrainingOptions().NoDecayNamePatterns));
        Assert.False(TrainableParameters.Decays("transformer.h.0.ln_1.weight", new TrainingOptions().NoDecayNamePatterns));
        Assert.False(TrainableParameters.Decays("classifier.bias", new TrainingOptions().NoDecayNamePatterns));
        Assert.True(TrainableParameters.Decays("bert.encoder.layer.0.attention.self.query.weight", new TrainingOptions().NoDecayNamePatterns));

        // With zero gradients Adam's update is exactly zero, so only decoupled decay moves weights: w *= 1 - lr*wd.
        using var toy = new ToyTask(examples: 8);
        var before = toy.Snapshot();
        const double lr = 0.1, wd = 0.5;
        var options = new TrainingOptions { BatchSize = 8, Epochs = 1, LearningRate = lr, WeightDecay = wd, Schedule = LearningRateScheduleKind.Constant, WarmupSteps = 0 };
        var trainer = new Trainer<int>(options, toy.Model.named_parameters(),
                                       _ => toy.Model.parameters().Select(p => (p * 0).sum()).Aggregate((a, b) => a + b));
        trainer.Fit(_ => new[] { 0 }, 1);
        var after = toy.Snapshot();
        foreach (var p in trainer.Parameters)
        {
            var expected = p.Decay ? before[p.Name] * (1 - lr * wd) : before[p.Name];
            Assert.True(after[p.Name].allclose(expected, rtol: 1e-6, atol: 0), $"{p.Name} (decay={p.Decay})");
        }
        Assert.Equal(new[] { "fc1.weight", "head.weight" }, trainer.Parameters.Where(p => p.Decay).Select(p => p.Name));
    }

    [Fact]
    public void Clipping_CapsTheGlobalNorm_AndReportsThePreClipNorm()
    {
        using var toy = new ToyTask();
        var clipped = new List<double>();
        var options = new TrainingOptions { BatchSize = 8, Epochs = 1, MaxGradientNorm = 0.01, LearningRate = 1e-2 };
        var trainer = toy.Trainer(options, beforeStep: ps => clipped.Add(GradientNorms.Measure(ps).Global));
        var result = trainer.Fit(e => toy.Batches(e, 8), 8);
        Assert.Equal(8, clipped.Count);
        Assert.All(clipped, n => Assert.True(n <= 0.01 * (1 + 1e-4), $"clipped norm {n}"));
        Assert.All(result.History.Steps, s => Assert.True(s.GradientNorm > 0.01, $"pre-clip norm {s.GradientNorm}"));
        Assert.All(result.History.Steps, s => Assert.Equal(s.GradientNorm,
            Math.Sqrt(s.GradientNormByGroup.Values.Sum(v => v * v)), 5));
    }

    [Fact]
    public void BFloat16Parameters_TrainThroughFp32Masters()
    {
        using var toy = new ToyTask();
        MixedPrecision.ToBFloat16(toy.Model.named_children().First().module); // fc1 in bf16, the rest fp32
        using var x = toy.X.to(ScalarType.BFloat16);
        var options = new TrainingOptions { BatchSize = 8, Epochs = 5, LearningRate = 1e-2, Precision = TrainingPrecision.BFloat16, Seed = 2 };
        var trainer = new Trainer<int[]>(options, toy.Model.named_parameters(), idx =>
        {
            var i = tensor(idx.Select(v => (long)v).ToArray());
            var h = ((TorchSharp.Modules.Linear)toy.Model.named_children().First().module).forward(x.index_select(0, i)).to(ScalarType.Float32);
            foreach (var (name, m) in toy.Model.named_children().Skip(1)) h = ((nn.Module<Tensor, Tensor>)m).forward(h);
            return nn.functional.cross_entropy(h, toy.Y.index_select(0, i));
        });
        Assert.Contains("BFloat16", trainer.Summary.DTypes);
        var result = trainer.Fit(e => Enumerable.Range(0, 8).Select(b => e.Permutation(64)[..8]), 8);
        var losses = result.History.Steps.Select(s => s.Loss).ToList();
        Assert.True(losses.Skip(30).Average() < losses.Take(5).Average() * 0.8, $"loss {losses.Take(5).Average()} -> {losses.Skip(30).Average()}");
        Assert.Equal(ScalarType.BFloat16, toy.Model.named_parameters().First().parameter.dtype);
    }
}
