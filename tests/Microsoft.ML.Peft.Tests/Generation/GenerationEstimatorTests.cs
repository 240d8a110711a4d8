using Microsoft.ML.Data;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>The LoRA text-generation estimator on a tiny random GPT-2 folder with a byte-level tokenizer.</summary>
public sealed class GenerationEstimatorTests : IDisposable
{
    readonly TinyGenerationModel tiny = new();
    readonly MLContext ml = new(seed: 1);

    public void Dispose() => tiny.Dispose();

    sealed class TextRow { public string Text { get; set; } = ""; }

    sealed class PairRow { public string Prompt { get; set; } = ""; public string Completion { get; set; } = ""; }

    IDataView Texts(params string[] texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }));

    static TextGeneratorTrainerOptions Options(int maxNewTokens = 6) => new()
    {
        MaxSequenceLength = 32,
        Training = new TrainingOptions { LearningRate = 1e-2, Epochs = 3, BatchSize = 2, WarmupSteps = 0, Seed = 3, LogEverySteps = 0 },
        Generation = new GenerationOptions { MaxNewTokens = maxNewTokens },
    };

    static string[] Generated(IDataView output, string column = "GeneratedText") =>
        output.GetColumn<string>(column).ToArray();

    [Fact]
    public void Fits_on_a_text_column_and_writes_generated_text()
    {
        var data = Texts("the cat sat on the mat", "the dog sat on the log", "a cat and a dog");
        var estimator = ml.Peft().LoraTextGenerator(tiny.Open(), rank: 4, alpha: 8, options: Options());
        var schema = estimator.GetOutputSchema(Microsoft.ML.Peft.MLNet.SchemaChecks.ShapeOf(data.Schema));
        Assert.Contains(schema, c => c.Name == "GeneratedText");
        var model = estimator.Fit(data);
        Assert.Equal("LORA", model.PeftType);
        Assert.True(estimator.LastTrainingResult!.StepsCompleted > 0);
        var generated = Generated(model.Transform(Texts("the cat", "a dog")));
        Assert.Equal(2, generated.Length);
        Assert.All(generated, g => Assert.NotNull(g));
        Assert.Contains(generated, g => g.Length > 0);
    }

    [Fact]
    public void Training_lowers_perplexity_on_the_training_text()
    {
        var data = Texts("abcabcabcabcabcabcabc", "abcabcabcabcabc");
        var options = Options();
        options.Training.Epochs = 20;
        var model = ml.Peft().LoraTextGenerator(tiny.Open(), rank: 4, alpha: 16, dropout: 0, options: options).Fit(data);
        double after = model.EvaluatePerplexity(data).Perplexity;
        using (model.State.Peft.DisableAdapters())
        {
            double before = model.EvaluatePerplexity(data).Perplexity;
            Assert.True(after < before * 0.7, $"perplexity {before:F2} -> {after:F2}");
        }
    }

    [Fact]
    public void Completion_only_loss_masks_the_prompt_and_padding()
    {
        var tokenizer = tiny.Open().Tokenizer;
        var example = CausalLmExamples.FromPromptCompletion(tokenizer, "Q: hi", " A: yo", 64)!;
        // Byte-level, no merges: one id per byte; "Q: hi" is 5 tokens, " A: yo" 6, then end-of-text.
        Assert.Equal(5 + 6 + 1, example.Ids.Length);
        Assert.All(example.Labels.Take(5), l => Assert.Equal(CausalLmLoss.IgnoreIndex, l));
        Assert.Equal(example.Ids.Skip(5), example.Labels.Skip(5));
        Assert.Equal(TinyGenerationModel.Eos, example.Ids[^1]);

        var shorter = CausalLmExamples.FromPromptCompletion(tokenizer, "Q:", " A", 64)!;
        var (ids, mask, labels) = CausalLmExamples.Collate(new[] { example, shorter }, tokenizer.SpecialTokens.Pad);
        using (ids) using (mask) using (labels)
        {
            Assert.Equal(new long[] { 2, 12 }, labels.shape);
            var row = labels[1].data<long>().ToArray();
            Assert.Equal(new long[] { -100, -100, ' ', 'A', TinyGenerationModel.Eos }, row.Take(5));
            Assert.All(row.Skip(5), l => Assert.Equal(-100L, l));
            Assert.Equal(5, mask[1].sum().item<long>());
        }
    }

    [Fact]
    public void Fits_on_prompt_and_completion_columns()
    {
        var rows = new[] { new PairRow { Prompt = "2+2=", Completion = "4" }, new PairRow { Prompt = "3+3=", Completion = "6" } };
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = Options(maxNewTokens: 2);
        options.PromptColumnName = "Prompt";
        options.CompletionColumnName = "Completion";
        var model = ml.Peft().LoraTextGenerator(tiny.Open(), options: options).Fit(data);
        Assert.Equal("Prompt", model.TextColumnName);
        Assert.Equal(2, Generated(model.Transform(data)).Length);
        var metrics = model.EvaluatePerplexity(data, "Prompt", "Completion");
        Assert.Equal(4, metrics.TokenCount);  // one digit + end-of-text per row
    }

    [Fact]
    public void Perplexity_is_exp_of_the_mean_next_token_nll()
    {
        var data = Texts("hello", "abc");
        var options = Options();
        options.Training.Epochs = 1;
        var model = ml.Peft().LoraTextGenerator(tiny.Open(), options: options).Fit(data);
        var metrics = model.EvaluatePerplexity(data);

        // Independently: run each text alone, log-softmax, pick the next token's log-probability.
        var decoder = tiny.Open();
        double nll = 0;
        long count = 0;
        foreach (var text in new[] { "hello", "abc" })
        {
            var ids = decoder.Tokenizer.EncodeToIds(text).Select(i => (long)i).Append(TinyGenerationModel.Eos).ToArray();
            using var input = torch.tensor(ids, new long[] { 1, ids.Length });
            using var logits = model.State.Model.forward(input);
            using var logp = logits.log_softmax(-1);
            for (int t = 0; t + 1 < ids.Length; t++, count++) nll -= logp[0, t, ids[t + 1]].item<float>();
        }
        Assert.Equal(count, metrics.TokenCount);
        Assert.Equal(Math.Exp(nll / count), metrics.Perplexity, 1e-3);
    }

    [Fact]
    public void Save_and_load_give_identical_greedy_generations()
    {
        var data = Texts("the cat sat on the mat", "the dog sat on the log");
        var model = ml.Peft().LoraTextGenerator(tiny.Open(), options: Options(maxNewTokens: 8)).Fit(data);
        var prompts = Texts("the ca", "the do");
        var expected = Generated(model.Transform(prompts));
        string path = Path.Combine(Path.GetTempPath(), $"peft-gen-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var loaded = new MLContext().Model.Load(path, out _);
            Assert.Equal(expected, Generated(loaded.Transform(prompts)));
            var engine = ml.Model.CreatePredictionEngine<TextRow, GeneratedRow>(loaded);
            Assert.Equal(expected[0], engine.Predict(new TextRow { Text = "the ca" }).GeneratedText);
        }
        finally
        {
            File.Delete(path);
        }
    }

    sealed class GeneratedRow { public string GeneratedText { get; set; } = ""; }

    [Fact]
    public void Bad_input_gives_clear_errors()
    {
        var decoder = tiny.Open();
        var catalog = ml.Peft();
        var zero = Options();
        zero.Generation.MaxNewTokens = 0;
        Assert.Contains("MaxNewTokens", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.LoraTextGenerator(decoder, options: zero)).Message);
        var topP = Options();
        topP.Generation.TopP = 1.5;
        Assert.Contains("TopP", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.LoraTextGenerator(decoder, options: topP)).Message);
        var completionOnly = Options();
        completionOnly.CompletionColumnName = "Completion";
        Assert.Contains("PromptColumnName", Assert.Throws<ArgumentException>(() => catalog.LoraTextGenerator(decoder, options: completionOnly)).Message);

        var estimator = catalog.LoraTextGenerator(decoder, options: Options());
        var wrong = ml.Data.LoadFromEnumerable(new[] { new PairRow { Prompt = "x", Completion = "y" } });
        Assert.Contains("Text", Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(wrong)).Message);
        Assert.Contains("empty", Assert.Throws<InvalidOperationException>(() => estimator.Fit(Texts("", ""))).Message);

        var model = estimator.Fit(Texts("some text"));
        var e = Assert.ThrowsAny<Exception>(() => Generated(model.Transform(Texts("ok", ""))));
        Assert.Contains("empty", (e.InnerException ?? e).Message);
        Assert.ThrowsAny<ArgumentException>(() => model.Generate(new[] { new string('x', 100) }));  // longer than the 64-token context
    }
}
