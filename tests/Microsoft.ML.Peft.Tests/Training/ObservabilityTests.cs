using Xunit.Abstractions;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.Training;

[Collection(TrainingCollection.Name)]
public class ObservabilityTests(ITestOutputHelper output)
{
    [Fact]
    public void History_SavesCsvJsonAndAPlausiblePng()
    {
        using var toy = new ToyTask();
        var lines = new List<string>();
        var options = new TrainingOptions { BatchSize = 4, Epochs = 3, LearningRate = 1e-2, EvaluateEverySteps = 4, LogEverySteps = 10 };
        var trainer = new Trainer<(TorchSharp.torch.Tensor X, TorchSharp.torch.Tensor Y)>(options, toy.Model.named_parameters(), toy.Loss)
        {
            Evaluate = () => EvaluationResult.FromLoss(toy.ValidationLoss(), accuracy: 0.5), Log = lines.Add,
        };
        var result = trainer.Fit(e => toy.Batches(e, 4), 16);

        using var folder = new TempFolder();
        result.History.SaveAll(folder.Path);
        string[] csv = File.ReadAllLines(folder.File("history.csv"));
        Assert.Equal("step,epoch,loss,learning_rate,grad_norm,penalty,examples_per_s,skipped", csv[0]);
        Assert.Equal(48 + 1, csv.Length); // one row per step
        Assert.StartsWith("47,2,", csv[^1]);

        byte[] png = File.ReadAllBytes(folder.File("history.png"));
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.InRange(png.Length, 20_000, 5_000_000);
        string keep = Path.Combine(Path.GetTempPath(), "peft-training-history.png");
        File.Copy(folder.File("history.png"), keep, overwrite: true);
        output.WriteLine($"PNG {png.Length} bytes, copy at {keep}");

        var back = TrainingHistory.LoadJson(folder.File("history.json"));
        Assert.Equal(result.History.Steps.Select(s => s.Loss), back.Steps.Select(s => s.Loss));
        Assert.Equal(12, back.Evaluations.Count);
        Assert.Equal(result.History.Parameters, back.Parameters! with { DTypes = result.History.Parameters!.DTypes });

        Assert.Contains(lines, l => l.StartsWith("trainable params: 210 || all params: 210", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("step 10/48", StringComparison.Ordinal) && l.Contains("ex/s") && l.Contains("peak"));
        Assert.All(result.History.Steps, s => Assert.True(s.ExamplesPerSecond > 0));
        Assert.True(result.Memory.PeakResidentMb > 0);
        foreach (string l in lines.Take(6)) output.WriteLine(l);
    }

    [Fact]
    public void Summary_CountsOnlyWhatRequiresGradients()
    {
        using var toy = new ToyTask();
        foreach (var (name, p) in toy.Model.named_parameters()) p.requires_grad = name.StartsWith("head", StringComparison.Ordinal);
        var trainer = toy.Trainer(new TrainingOptions());
        Assert.Equal(16 * 2 + 2, trainer.Summary.Trainable);
        Assert.Equal(210, trainer.Summary.Total);
        Assert.Equal(100.0 * 34 / 210, trainer.Summary.Percent, 10);
        Assert.Equal(new[] { "head.weight", "head.bias" }, trainer.Parameters.Select(p => p.Name));
    }
}
