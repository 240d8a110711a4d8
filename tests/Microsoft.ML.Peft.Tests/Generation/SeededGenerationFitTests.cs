using Microsoft.ML.Data;
using TorchSharp;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// A seeded generator fit is reproducible whatever consumed torch's random numbers before it: the estimator seeds
/// before the adapter is initialised, not only when training starts.
/// </summary>
[Collection(Microsoft.ML.Peft.Tests.Training.TrainingCollection.Name)]
public sealed class SeededGenerationFitTests : IDisposable
{
    readonly TinyGenerationModel gpt2 = new();

    public void Dispose() => gpt2.Dispose();

    sealed class TextRow { public string Text { get; set; } = ""; }

    [Fact]
    public void Same_seed_gives_the_same_perplexity_after_unrelated_random_draws()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(GenerationMethodMatrix.TrainingTexts.Select(t => new TextRow { Text = t }));
        double Fit()
        {
            var estimator = GenerationMethodMatrix.Create(ml.Peft(), "lora", gpt2.Open(), GenerationMethodMatrix.Options("lora"));
            return estimator.Fit(train).EvaluatePerplexity(train).Perplexity;
        }
        double first = Fit();
        using (torch.rand(1000)) { }  // what a generation with sampling or another model's initialisation would draw
        double second = Fit();
        Assert.Equal(first, second);
    }
}
