using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.MLNet;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// A fitted generator saved with mlContext.Model.Save loads in a fresh process (tests/Microsoft.ML.Peft.ModelProbe, no
/// registration call) and gives the same greedy generations and the same perplexity as the model in this process.
/// </summary>
public sealed class GenerationFreshProcessTests : IDisposable
{
    readonly TinyGenerationModel gpt2 = new();
    readonly TinyLlamaGenerationModel llama = new();

    public void Dispose()
    {
        gpt2.Dispose();
        llama.Dispose();
    }

    sealed class TextRow { public string Text { get; set; } = ""; }

    sealed class PairRow { public string Prompt { get; set; } = ""; public string Completion { get; set; } = ""; }

    static IDataView Texts(MLContext ml, IEnumerable<string> texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }));

    /// <summary>Both architectures, an adapter, a quantized base, whole weights, a prompt and a KV-cache prefix; the other methods round-trip in process.</summary>
    public static TheoryData<string> Methods => new() { "lora", "qlora-llama", "ia3-llama", "full", "prompt", "prefix-llama" };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Saved_generator_gives_identical_generations_and_perplexity_in_a_fresh_process(string method)
    {
        var ml = new MLContext(seed: 1);
        var decoder = GenerationMethodMatrix.IsLlama(method) ? llama.Open() : gpt2.Open();
        var train = Texts(ml, GenerationMethodMatrix.TrainingTexts);
        var model = GenerationMethodMatrix.Create(ml.Peft(), method, decoder, GenerationMethodMatrix.Options(method, maxNewTokens: 8)).Fit(train);
        var expected = GenerationMethodPersistenceTests.Generated(model.Transform(Texts(ml, GenerationMethodMatrix.Prompts)));
        double perplexity = model.EvaluatePerplexity(train, "Text").Perplexity;

        using var folder = new TempFolder();
        string path = folder.File("generator.zip");
        ml.Model.Save(model, train.Schema, path);
        var (code, generated, probePerplexity, error) = ModelProbe.RunGenerator(path, "Text", GenerationMethodMatrix.Prompts, GenerationMethodMatrix.TrainingTexts);

        Assert.True(code == 0, $"probe failed ({code}):\n{error}");
        Assert.Equal(expected, generated);
        Assert.Equal(perplexity, probePerplexity);
    }

    [Fact]
    public void A_prompt_completion_generator_reads_its_prompt_column_in_a_fresh_process()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { ("the cat", " sat"), ("a hat", " on the mat"), ("the", " cat ate") }
            .Select(p => new PairRow { Prompt = p.Item1, Completion = p.Item2 });
        var train = ml.Data.LoadFromEnumerable(rows);
        var options = GenerationMethodMatrix.Options("lora", maxNewTokens: 5);
        options.PromptColumnName = "Prompt";
        options.CompletionColumnName = "Completion";
        var model = ml.Peft().LoraTextGenerator(gpt2.Open(), rank: 4, alpha: 8, options: options).Fit(train);
        var expected = GenerationMethodPersistenceTests.Generated(model.Transform(train));
        double perplexity = model.EvaluatePerplexity(Texts(ml, GenerationMethodMatrix.TrainingTexts), "Text").Perplexity;

        using var folder = new TempFolder();
        string path = folder.File("generator.zip");
        ml.Model.Save(model, train.Schema, path);
        var (code, generated, probePerplexity, error) = ModelProbe.RunGenerator(path, "Prompt", new[] { "the cat", "a hat", "the" }, GenerationMethodMatrix.TrainingTexts);

        Assert.True(code == 0, $"probe failed ({code}):\n{error}");
        Assert.Equal(expected, generated);
        Assert.Equal(perplexity, probePerplexity);
    }
}
