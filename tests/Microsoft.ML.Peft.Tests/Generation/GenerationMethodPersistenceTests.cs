using Microsoft.ML.Data;
using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Tests.Checkpoints;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// Every working generation method (<see cref="GenerationMethodMatrix.Working"/>): its catalog generator fits, training
/// lowers perplexity, the adapter says CAUSAL_LM, and mlContext.Model.Save / Load in this process gives identical greedy
/// generations and perplexity.
/// </summary>
public sealed class GenerationMethodPersistenceTests : IDisposable
{
    readonly TinyGenerationModel gpt2 = new();
    readonly TinyLlamaGenerationModel llama = new();

    public void Dispose()
    {
        gpt2.Dispose();
        llama.Dispose();
    }

    sealed class TextRow { public string Text { get; set; } = ""; }

    static IDataView Texts(MLContext ml, IEnumerable<string> texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }));

    internal static string[] Generated(IDataView output) => output.GetColumn<string>("GeneratedText").ToArray();

    [Theory]
    [MemberData(nameof(GenerationMethodMatrix.Working), MemberType = typeof(GenerationMethodMatrix))]
    public void Fits_and_round_trips_with_identical_generations_and_perplexity(string method)
    {
        var ml = new MLContext(seed: 1);
        var decoder = GenerationMethodMatrix.IsLlama(method) ? llama.Open() : gpt2.Open();
        var train = Texts(ml, GenerationMethodMatrix.TrainingTexts);
        var estimator = GenerationMethodMatrix.Create(ml.Peft(), method, decoder, GenerationMethodMatrix.Options(method));
        Assert.Equal(GenerationMethodMatrix.PeftType(method), estimator.Method.PeftType);

        double before = estimator.CreateBaseline().EvaluatePerplexity(train).Perplexity;
        var model = estimator.Fit(train);
        Assert.Equal(GenerationMethodMatrix.PeftType(method), model.PeftType);
        double after = model.EvaluatePerplexity(train).Perplexity;
        Assert.True(after < before, $"{method}: perplexity {before:F3} -> {after:F3}");

        var prompts = Texts(ml, GenerationMethodMatrix.Prompts);
        var expected = Generated(model.Transform(prompts));
        Assert.Equal(GenerationMethodMatrix.Prompts.Length, expected.Length);
        Assert.Contains(expected, g => g.Length > 0);

        using var folder = new TempFolder();
        model.State.Peft.SaveAdapter(folder.Path);
        var config = JsonNode.Parse(File.ReadAllText(folder.File("adapter_config.json")))!;
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);

        string path = folder.File("generator.zip");
        ml.Model.Save(model, train.Schema, path);
        var loaded = new MLContext(seed: 7).Model.Load(path, out _);
        Assert.Equal(expected, Generated(loaded.Transform(prompts)));
        var reloaded = Assert.IsType<PeftTextGenerationTransformer>(loaded);
        Assert.Equal(model.EvaluatePerplexity(train).Perplexity, reloaded.EvaluatePerplexity(train).Perplexity);
        Assert.Equal(GenerationMethodMatrix.PeftType(method), reloaded.PeftType);
    }
}
