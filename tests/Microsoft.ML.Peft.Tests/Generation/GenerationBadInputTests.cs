using Microsoft.ML.Data;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Tests.Checkpoints;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// Bad input to the text generators: options fail when the estimator is created (every generator, no weights loaded),
/// columns when Fit starts (before the weights are read) or when Transform is called, prompts before decoding; each
/// message names the option or column and the value.
/// </summary>
public sealed class GenerationBadInputTests : IDisposable
{
    readonly TinyGenerationModel tiny = new();   // 64 positions, one token per byte
    readonly MLContext ml = new(seed: 1);

    public void Dispose() => tiny.Dispose();

    sealed class TextRow { public string Text { get; set; } = ""; }

    sealed class PairRow { public string Prompt { get; set; } = ""; public string Completion { get; set; } = ""; }

    sealed class NumericTextRow { public float Text { get; set; } }

    sealed class NumericPromptRow { public int Prompt { get; set; } public string Completion { get; set; } = ""; }

    IDataView Texts(params string[] texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }));

    static readonly string[] AllGenerators = { "lora", "qlora", "bitfit", "full", "ia3", "prompt", "ptuning", "prefix", "adapter" };

    static TextGeneratorTrainerOptions With(GenerationOptions generation)
    {
        var options = GenerationMethodMatrix.Options("lora");
        options.Generation = generation;
        return options;
    }

    public static TheoryData<string, GenerationOptions> BadGenerationOptions => new()
    {
        { "MaxNewTokens", new GenerationOptions { MaxNewTokens = 0 } },
        { "MaxNewTokens", new GenerationOptions { MaxNewTokens = -5 } },
        { "TopP", new GenerationOptions { TopP = 0 } },
        { "TopP", new GenerationOptions { TopP = -0.5 } },
        { "TopP", new GenerationOptions { TopP = 1.01 } },
        { "TopP", new GenerationOptions { TopP = double.NaN } },
        { "Temperature", new GenerationOptions { DoSample = true, Temperature = 0 } },
        { "Temperature", new GenerationOptions { DoSample = true, Temperature = -0.7 } },
        { "Temperature", new GenerationOptions { DoSample = true, Temperature = double.NaN } },
        { "TopK", new GenerationOptions { TopK = -1 } },
        { "NumBeams", new GenerationOptions { NumBeams = 0 } },
        { "NumBeams", new GenerationOptions { NumBeams = -2 } },
    };

    [Theory]
    [MemberData(nameof(BadGenerationOptions))]
    public void Generation_options_out_of_range_fail_when_any_generator_is_created(string option, GenerationOptions generation)
    {
        var decoder = tiny.Open();
        foreach (var method in AllGenerators)
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => GenerationMethodMatrix.Create(ml.Peft(), method, decoder, With(generation)));
            Assert.Equal(option, e.ParamName);
            Assert.Contains("GenerationOptions." + option, e.Message);
        }
    }

    [Fact]
    public void Greedy_decoding_ignores_temperature_as_documented()
    {
        var baseline = ml.Peft().LoraTextGenerator(tiny.Open(), options: With(new GenerationOptions { MaxNewTokens = 6, Temperature = 0 })).CreateBaseline();
        var prompts = Texts("the cat", "a hat");
        var greedy = GenerationMethodPersistenceTests.Generated(baseline.WithGenerationOptions(new GenerationOptions { MaxNewTokens = 6 }).Transform(prompts));
        Assert.Equal(greedy, GenerationMethodPersistenceTests.Generated(baseline.Transform(prompts)));

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => baseline.WithGenerationOptions(new GenerationOptions { DoSample = true, Temperature = -1 }));
        Assert.Equal("Temperature", e.ParamName);
        Assert.Equal("TopP", Assert.Throws<ArgumentOutOfRangeException>(() => baseline.WithGenerationOptions(new GenerationOptions { TopP = 2 })).ParamName);
    }

    [Fact]
    public void Lengths_that_do_not_fit_the_context_fail_when_the_generator_is_created()
    {
        var decoder = tiny.Open();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Peft().BitFitTextGenerator(decoder, With(new GenerationOptions { MaxNewTokens = 64 })));
        Assert.Equal("MaxNewTokens", e.ParamName);
        Assert.Contains("64 positions", e.Message);
        Assert.Contains("at most 63", e.Message);
        Assert.Equal(63, ml.Peft().BitFitTextGenerator(decoder, With(new GenerationOptions { MaxNewTokens = 63 })).Options.Generation.MaxNewTokens);

        var tooLong = GenerationMethodMatrix.Options("lora");
        tooLong.MaxSequenceLength = 65;
        e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Peft().LoraTextGenerator(decoder, options: tooLong));
        Assert.Equal("MaxSequenceLength", e.ParamName);
        Assert.Contains("MaxSequenceLength 65", e.Message);
        Assert.Contains("64 positions", e.Message);

        using var llama = new TinyLlamaGenerationModel();
        e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Peft().IA3TextGenerator(llama.Open(), options: tooLong));
        Assert.Contains("64 positions", e.Message);

        var tooShort = GenerationMethodMatrix.Options("lora");
        tooShort.MaxSequenceLength = 1;
        Assert.Equal("MaxSequenceLength", Assert.Throws<ArgumentOutOfRangeException>(() => ml.Peft().LoraTextGenerator(decoder, options: tooShort)).ParamName);
    }

    [Fact]
    public void Method_and_training_options_out_of_range_fail_when_the_generator_is_created()
    {
        var decoder = tiny.Open();
        var catalog = ml.Peft();
        Assert.Equal("Rank", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.LoraTextGenerator(decoder, rank: 0)).ParamName);
        Assert.Equal("BlockSize", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.QLoraTextGenerator(decoder, blockSize: 0)).ParamName);
        Assert.Equal("NumVirtualTokens", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.PromptTuningTextGenerator(decoder, numVirtualTokens: 0)).ParamName);
        Assert.Equal("NumVirtualTokens", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.PTuningTextGenerator(decoder, numVirtualTokens: -1)).ParamName);
        Assert.Equal("NumVirtualTokens", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.PrefixTuningTextGenerator(decoder, numVirtualTokens: 0)).ParamName);
        Assert.Equal("ReductionFactor", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.AdapterTextGenerator(decoder, reductionFactor: 0)).ParamName);

        var training = GenerationMethodMatrix.Options("full");
        training.Training.LearningRate = -1;
        Assert.Contains("LearningRate", Assert.ThrowsAny<ArgumentException>(() => catalog.FullFineTuningTextGenerator(decoder, training)).Message);
        var batch = GenerationMethodMatrix.Options("lora");
        batch.InferenceBatchSize = 0;
        Assert.Equal("InferenceBatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => catalog.BitFitTextGenerator(decoder, batch)).ParamName);
    }

    [Fact]
    public void Missing_or_non_text_columns_fail_at_the_start_of_fit_naming_the_column()
    {
        // A private copy of the model whose weights are deleted after opening: a Fit that read the weights before
        // checking the columns would fail on the missing file instead.
        using var copy = new TempFolder();
        foreach (var file in Directory.GetFiles(tiny.Folder)) File.Copy(file, copy.File(Path.GetFileName(file)));
        var decoder = PretrainedDecoder.FromDirectory(copy.Path);
        foreach (var weights in Directory.GetFiles(copy.Path, "*.safetensors")) File.Delete(weights);

        var text = ml.Peft().LoraTextGenerator(decoder, options: GenerationMethodMatrix.Options("lora"));
        var pairs = ml.Data.LoadFromEnumerable(new[] { new PairRow { Prompt = "x", Completion = "y" } });
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => text.Fit(pairs));
        Assert.Contains("Text column 'Text' not found", missing.Message);
        Assert.Contains("'Prompt'", missing.Message);
        var numeric = Assert.Throws<ArgumentOutOfRangeException>(() => text.Fit(ml.Data.LoadFromEnumerable(new[] { new NumericTextRow { Text = 1 } })));
        Assert.Contains("Text column 'Text' must be a single text value", numeric.Message);

        var options = GenerationMethodMatrix.Options("lora");
        options.PromptColumnName = "Prompt";
        options.CompletionColumnName = "Answer";
        var completion = ml.Peft().BitFitTextGenerator(decoder, options);
        Assert.Contains("Completion column 'Answer' not found", Assert.Throws<ArgumentOutOfRangeException>(() => completion.Fit(pairs)).Message);
        options.CompletionColumnName = "Completion";
        var prompt = ml.Peft().BitFitTextGenerator(decoder, options);
        var badPrompt = ml.Data.LoadFromEnumerable(new[] { new NumericPromptRow { Prompt = 3, Completion = "y" } });
        Assert.Contains("Prompt column 'Prompt' must be a single text value", Assert.Throws<ArgumentOutOfRangeException>(() => prompt.Fit(badPrompt)).Message);

        // With good columns the same estimator gets as far as the (deleted) weights.
        Assert.IsNotType<ArgumentOutOfRangeException>(Assert.ThrowsAny<Exception>(() => prompt.Fit(pairs)));
    }

    [Fact]
    public void Rows_without_anything_to_learn_fail_naming_the_column()
    {
        var options = GenerationMethodMatrix.Options("lora");
        options.PromptColumnName = "Prompt";
        options.CompletionColumnName = "Completion";
        var data = ml.Data.LoadFromEnumerable(new[] { new PairRow { Prompt = "x", Completion = "" } });
        var e = Assert.Throws<InvalidOperationException>(() => ml.Peft().LoraTextGenerator(tiny.Open(), options: options).Fit(data));
        Assert.Contains("'Completion'", e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Transform_checks_its_input_column()
    {
        var options = GenerationMethodMatrix.Options("lora");
        options.PromptColumnName = "Prompt";
        options.CompletionColumnName = "Completion";
        var model = ml.Peft().LoraTextGenerator(tiny.Open(), options: options).CreateBaseline();
        Assert.Equal("Prompt", model.TextColumnName);
        Assert.Contains("Text column 'Prompt' not found", Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(Texts("hello"))).Message);
        var numeric = ml.Data.LoadFromEnumerable(new[] { new NumericPromptRow { Prompt = 3, Completion = "y" } });
        Assert.Contains("'Prompt' must be a single text value", Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(numeric)).Message);
    }

    [Fact]
    public void Empty_and_too_long_prompts_fail_naming_the_column_and_lengths()
    {
        // 64 positions, 6 new tokens: room for 58 prompt tokens (one per byte here).
        var model = ml.Peft().LoraTextGenerator(tiny.Open(), options: GenerationMethodMatrix.Options("lora", maxNewTokens: 6)).CreateBaseline();

        var empty = Assert.ThrowsAny<Exception>(() => GenerationMethodPersistenceTests.Generated(model.Transform(Texts("ok", ""))));
        Assert.Contains("Prompt 1 of the batch (column 'Text') is empty", empty.ToString());
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => model.Generate(new[] { "" })).Message);

        Assert.Single(model.Generate(new[] { new string('x', 58) }));
        var tooLong = Assert.Throws<ArgumentException>(() => model.Generate(new[] { "fine", new string('x', 59) }));
        Assert.Contains("column 'Text'", tooLong.Message);
        Assert.Contains("59 tokens", tooLong.Message);
        Assert.Contains("MaxNewTokens = 6", tooLong.Message);
        Assert.Contains("64 positions", tooLong.Message);
        Assert.Contains("at most 58 tokens", tooLong.Message);
        var inPipeline = Assert.ThrowsAny<Exception>(() => GenerationMethodPersistenceTests.Generated(model.Transform(Texts(new string('y', 70)))));
        Assert.Contains("70 tokens", inPipeline.ToString());
    }
}
