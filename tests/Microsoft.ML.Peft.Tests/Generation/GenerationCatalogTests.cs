using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Methods.PTuning;
using Microsoft.ML.Peft.Methods.QLora;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// The per-method generators of mlContext.Peft(): their arguments reach the method's options, their default learning
/// rates suit the method, and given trainer options are kept. Nothing here loads weights.
/// </summary>
public sealed class GenerationCatalogTests : IDisposable
{
    readonly TinyGenerationModel tiny = new();
    readonly PeftCatalog catalog = new MLContext(seed: 1).Peft();

    public void Dispose() => tiny.Dispose();

    [Fact]
    public void Short_overloads_pass_their_arguments_to_the_method()
    {
        var decoder = tiny.Open();

        var lora = Assert.IsType<LoraOptions>(catalog.LoraTextGenerator(decoder, rank: 3, alpha: 6, dropout: 0.2, targetModules: new[] { "c_proj" }).Method);
        Assert.Equal((3, 6.0, 0.2, "CAUSAL_LM"), (lora.Rank, lora.Alpha, lora.Dropout, lora.TaskType));
        Assert.Equal(new[] { "c_proj" }, lora.TargetModules!.Names);

        var qlora = Assert.IsType<QLoraOptions>(catalog.QLoraTextGenerator(decoder, rank: 2, alpha: 4, blockSize: 32).Method);
        Assert.Equal((2, 32, "CAUSAL_LM"), (qlora.Lora.Rank, qlora.Quantization.BlockSize, qlora.Lora.TaskType));

        var ia3 = Assert.IsType<IA3Options>(catalog.IA3TextGenerator(decoder, targetModules: new[] { "k_proj", "down_proj" }, feedforwardModules: new[] { "down_proj" }).Method);
        Assert.Equal(new[] { "k_proj", "down_proj" }, ia3.TargetModules!.Names);
        Assert.Equal(new[] { "down_proj" }, ia3.FeedforwardModules);
        Assert.Null(Assert.IsType<IA3Options>(catalog.IA3TextGenerator(decoder).Method).TargetModules);   // PEFT's default per architecture

        Assert.IsType<BitFitOptions>(catalog.BitFitTextGenerator(decoder).Method);
        Assert.IsType<FullFineTuningOptions>(catalog.FullFineTuningTextGenerator(decoder).Method);

        var prompt = Assert.IsType<PromptTuningOptions>(catalog.PromptTuningTextGenerator(decoder, numVirtualTokens: 7).Method);
        Assert.Equal((7, PromptTuningInit.Random), (prompt.NumVirtualTokens, prompt.Init));
        var ptuning = Assert.IsType<PTuningOptions>(catalog.PTuningTextGenerator(decoder, numVirtualTokens: 5, encoderType: PromptEncoderType.Lstm).Method);
        Assert.Equal((5, PromptEncoderType.Lstm), (ptuning.NumVirtualTokens, ptuning.EncoderType));
        var prefix = Assert.IsType<PrefixTuningOptions>(catalog.PrefixTuningTextGenerator(decoder, numVirtualTokens: 6, prefixProjection: true).Method);
        Assert.Equal((6, true), (prefix.NumVirtualTokens, prefix.PrefixProjection));
        var adapter = Assert.IsType<BottleneckAdapterOptions>(catalog.AdapterTextGenerator(decoder, reductionFactor: 8, kind: BottleneckAdapterKind.Houlsby).Method);
        Assert.Equal((8, BottleneckAdapterKind.Houlsby), (adapter.ReductionFactor, adapter.Kind));
    }

    [Fact]
    public void Default_learning_rates_suit_the_method_and_given_options_are_kept()
    {
        var decoder = tiny.Open();
        Assert.Equal(1e-3, catalog.LoraTextGenerator(decoder).Options.Training.LearningRate);
        Assert.Equal(1e-3, catalog.QLoraTextGenerator(decoder).Options.Training.LearningRate);
        Assert.Equal(3e-3, catalog.IA3TextGenerator(decoder).Options.Training.LearningRate);
        Assert.Equal(1e-3, catalog.BitFitTextGenerator(decoder).Options.Training.LearningRate);
        Assert.Equal(5e-5, catalog.FullFineTuningTextGenerator(decoder).Options.Training.LearningRate);
        Assert.Equal(3e-2, catalog.PromptTuningTextGenerator(decoder).Options.Training.LearningRate);
        Assert.Equal(1e-2, catalog.PTuningTextGenerator(decoder).Options.Training.LearningRate);
        Assert.Equal(1e-2, catalog.PrefixTuningTextGenerator(decoder).Options.Training.LearningRate);
        Assert.Equal(1e-3, catalog.AdapterTextGenerator(decoder).Options.Training.LearningRate);

        var mine = GenerationMethodMatrix.Options("full");
        mine.Training.LearningRate = 0.123;
        mine.OutputColumnName = "Continuation";
        var options = catalog.FullFineTuningTextGenerator(decoder, mine).Options;
        Assert.Equal((0.123, "Continuation"), (options.Training.LearningRate, options.OutputColumnName));
        Assert.Equal(0.123, catalog.PromptTuningTextGenerator(decoder, new PromptTuningOptions(), mine).Options.Training.LearningRate);
    }

    [Fact]
    public void Option_overloads_take_the_methods_options_and_text_init_uses_the_decoders_tokenizer()
    {
        var decoder = tiny.Open();
        var lora = new LoraOptions { Rank = 2, Alpha = 2, UseRsLora = true };
        Assert.Same(lora, catalog.LoraTextGenerator(decoder, lora).Method);

        var mine = new PromptTuningOptions { NumVirtualTokens = 4, Init = PromptTuningInit.Text, InitText = "the cat" };
        var method = Assert.IsType<PromptTuningOptions>(catalog.PromptTuningTextGenerator(decoder, mine).Method);
        Assert.Null(mine.Tokenize);                                   // the caller's options are not changed
        Assert.Equal(decoder.Tokenizer.EncodeToIds("the cat"), method.Tokenize!("the cat"));
        Assert.Equal(decoder.Directory, method.TokenizerNameOrPath);

        var fromText = Assert.IsType<PromptTuningOptions>(catalog.PromptTuningTextGenerator(decoder, numVirtualTokens: 4, initText: "a hat").Method);
        Assert.Equal((PromptTuningInit.Text, "a hat"), (fromText.Init, fromText.InitText));
        Assert.NotNull(fromText.Tokenize);
    }
}
