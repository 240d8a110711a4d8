using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Tasks.Generation;

namespace Microsoft.ML.Peft;

// Text generation on mlContext.Peft(): any method as options, perplexity, and the shared defaults of the per-method
// generators (PeftCatalog.TextGenerators.cs, PeftCatalog.PromptTextGenerators.cs).
public sealed partial class PeftCatalog
{
    /// <summary>Fine-tunes <paramref name="decoder"/> with any PEFT method given as options (LoRA, BitFit, full fine-tuning, ...).</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The method and its options.</param>
    /// <param name="options">Columns, training and generation options; defaults (learning rate 1e-3) when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it and its value.</exception>
    public PeftTextGenerationEstimator TextGenerator(PretrainedDecoder decoder, IPeftMethodOptions method, TextGeneratorTrainerOptions? options = null,
                                                     Action<string>? log = null) =>
        new(decoder, method, options) { Log = log };

    /// <summary>Perplexity of a fitted generator on <paramref name="data"/> (see <see cref="PeftTextGenerationTransformer.EvaluatePerplexity"/>).</summary>
    public PerplexityMetrics EvaluatePerplexity(PeftTextGenerationTransformer model, IDataView data, string? textColumnName = null, string? completionColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.EvaluatePerplexity(data, textColumnName, completionColumnName);
    }

    // The per-method generators: the caller's options, or the defaults with the method's learning rate.
    PeftTextGenerationEstimator Generator(PretrainedDecoder decoder, IPeftMethodOptions method, TextGeneratorTrainerOptions? options,
                                          double defaultLearningRate, Action<string>? log)
    {
        if (options is null)
        {
            options = new TextGeneratorTrainerOptions();
            options.Training.LearningRate = defaultLearningRate;
        }
        return TextGenerator(decoder, method, options, log);
    }
}
