using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// The text-generation methods the estimator tests run, each built through its <c>mlContext.Peft()</c> generator on a
/// tiny GPT-2 (<see cref="TinyGenerationModel"/>) or, for names ending in <c>-llama</c>, a tiny LLaMA
/// (<see cref="TinyLlamaGenerationModel"/>).
/// </summary>
internal static class GenerationMethodMatrix
{
    /// <summary>Every method on both decoder families (BitFit needs biases, which the tiny LLaMA lacks).</summary>
    public static TheoryData<string> Working => new()
    {
        "lora", "lora-llama", "qlora", "qlora-llama", "bitfit", "full", "full-llama", "ia3", "ia3-llama",
        "prompt", "prompt-llama", "ptuning", "ptuning-llama", "prefix", "prefix-llama", "adapter", "adapter-llama",
    };

    /// <summary>The <c>peft_type</c> each method saves.</summary>
    public static string PeftType(string name) => name.Split('-')[0] switch
    {
        "lora" or "qlora" => "LORA",
        "bitfit" => "BITFIT",
        "full" => "FULL",
        "ia3" => "IA3",
        "prompt" => "PROMPT_TUNING",
        "ptuning" => "P_TUNING",
        "prefix" => "PREFIX_TUNING",
        "adapter" => "BOTTLENECK_ADAPTER",
        _ => throw new ArgumentException($"Unknown method '{name}'.", nameof(name)),
    };

    public static bool IsLlama(string name) => name.EndsWith("-llama", StringComparison.Ordinal);

    /// <summary>Short training runs that visibly change a tiny model: 3 epochs of batches of 2, no warm-up, fixed seed.</summary>
    public static TextGeneratorTrainerOptions Options(string name, int maxNewTokens = 6) => new()
    {
        MaxSequenceLength = 32,
        Training = new TrainingOptions
        {
            LearningRate = name.Split('-')[0] switch { "full" => 3e-3, "prompt" or "ptuning" or "prefix" => 3e-2, _ => 1e-2 },
            Epochs = 3, BatchSize = 2, WarmupSteps = 0, Seed = 3, LogEverySteps = 0,
        },
        Generation = new GenerationOptions { MaxNewTokens = maxNewTokens },
    };

    /// <summary>The estimator of <paramref name="name"/>, made by its catalog generator.</summary>
    public static PeftTextGenerationEstimator Create(PeftCatalog catalog, string name, PretrainedDecoder decoder, TextGeneratorTrainerOptions options) =>
        name.Split('-')[0] switch
        {
            "lora" => catalog.LoraTextGenerator(decoder, rank: 4, alpha: 8, dropout: 0, options: options),
            "qlora" => catalog.QLoraTextGenerator(decoder, rank: 4, alpha: 8, options: options),
            "bitfit" => catalog.BitFitTextGenerator(decoder, options),
            "full" => catalog.FullFineTuningTextGenerator(decoder, options),
            "ia3" => catalog.IA3TextGenerator(decoder, options: options),
            "prompt" => catalog.PromptTuningTextGenerator(decoder, numVirtualTokens: 4, options: options),
            "ptuning" => catalog.PTuningTextGenerator(decoder, numVirtualTokens: 4, options: options),
            "prefix" => catalog.PrefixTuningTextGenerator(decoder, numVirtualTokens: 4, options: options),
            "adapter" => catalog.AdapterTextGenerator(decoder, reductionFactor: 4, options: options),
            _ => throw new ArgumentException($"Unknown method '{name}'.", nameof(name)),
        };

    /// <summary>Short documents the methods train on and are evaluated on.</summary>
    public static readonly string[] TrainingTexts = { "the cat sat on the mat", "the cat ate the hat", "a cat and a hat", "the hat sat on the cat" };

    /// <summary>Prompts the tests continue.</summary>
    public static readonly string[] Prompts = { "the ca", "a hat", "the" };
}
