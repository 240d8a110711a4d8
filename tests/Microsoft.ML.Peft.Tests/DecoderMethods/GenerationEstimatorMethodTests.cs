using Microsoft.ML.Data;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Tests.Generation;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>
/// The text-generation estimator with the methods new to decoders, on a tiny GPT-2 folder: it trains without knowing the
/// method, generates, and saves and loads through <c>mlContext.Model</c> with identical generations.
/// </summary>
public sealed class GenerationEstimatorMethodTests : IDisposable
{
    readonly TinyGenerationModel tiny = new();
    readonly MLContext ml = new(seed: 1);

    public void Dispose() => tiny.Dispose();

    sealed class TextRow { public string Text { get; set; } = ""; }

    IDataView Texts(params string[] texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }));

    public static TheoryData<string> Methods => new() { "prompt", "prefix", "ia3", "houlsby" };

    static IPeftMethodOptions Method(string name) => name switch
    {
        "prompt" => new PromptTuningOptions { NumVirtualTokens = 4 },
        "prefix" => new PrefixTuningOptions { NumVirtualTokens = 4 },
        "ia3" => new IA3Options(),
        "houlsby" => new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Houlsby, ReductionFactor = 4 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Fits_generates_and_round_trips_through_the_model_zip(string method)
    {
        var data = Texts("the cat sat on the mat", "the dog sat on the log", "a cat and a dog");
        var options = new TextGeneratorTrainerOptions
        {
            MaxSequenceLength = 32,
            Training = new TrainingOptions { LearningRate = 3e-2, Epochs = 4, BatchSize = 2, WarmupSteps = 0, Seed = 3, LogEverySteps = 0 },
            Generation = new GenerationOptions { MaxNewTokens = 6 },
        };
        var estimator = ml.Peft().TextGenerator(tiny.Open(), Method(method), options);
        var before = estimator.CreateBaseline().EvaluatePerplexity(data);
        var model = estimator.Fit(data);
        Assert.Equal(Method(method).PeftType, model.PeftType);
        var after = model.EvaluatePerplexity(data);
        Assert.True(after.Perplexity < before.Perplexity, $"{method}: perplexity {before.Perplexity:F2} -> {after.Perplexity:F2}");

        var prompts = Texts("the ca", "a do");
        var expected = model.Transform(prompts).GetColumn<string>("GeneratedText").ToArray();
        Assert.Equal(2, expected.Length);
        string path = Path.Combine(Path.GetTempPath(), $"peft-dmeth-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var loaded = new MLContext().Model.Load(path, out _);
            Assert.Equal(expected, loaded.Transform(prompts).GetColumn<string>("GeneratedText").ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
