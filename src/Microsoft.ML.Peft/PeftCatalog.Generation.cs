using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Quantization;
using Microsoft.ML.Peft.Tasks.Generation;

namespace Microsoft.ML.Peft;

// Text-generation estimators of mlContext.Peft(): thin sugar over PeftTextGenerationEstimator.
public sealed partial class PeftCatalog
{
    /// <summary>Fine-tunes <paramref name="decoder"/> with LoRA (GPT-2: <c>c_attn</c>; LLaMA: <c>q_proj, v_proj</c> unless targets are given).</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="rank">LoRA rank r.</param>
    /// <param name="alpha">LoRA alpha (scaling alpha / r).</param>
    /// <param name="dropout">Dropout on the adapter input.</param>
    /// <param name="targetModules">Module names to adapt; the architecture's default when null.</param>
    /// <param name="options">Columns, training and generation options.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator LoraTextGenerator(PretrainedDecoder decoder, int rank = 8, double alpha = 16, double dropout = 0.05,
                                                         IReadOnlyList<string>? targetModules = null, TextGeneratorTrainerOptions? options = null,
                                                         Action<string>? log = null)
    {
        var lora = new LoraOptions { Rank = rank, Alpha = alpha, Dropout = dropout, TaskType = "CAUSAL_LM" };
        if (targetModules is not null) lora.TargetModules = Core.TargetModules.Of(targetModules.ToArray());
        return TextGenerator(decoder, lora, options, log);
    }

    /// <summary>
    /// Fine-tunes <paramref name="decoder"/> with QLoRA: its linear layers quantized to 4-bit NF4 (frozen), LoRA on the
    /// targets (LLaMA family: <c>q_proj, v_proj</c>; GPT-2: <c>c_attn</c>, its <c>Conv1D</c> layers quantized transposed as bitsandbytes does).
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="rank">LoRA rank r.</param>
    /// <param name="alpha">LoRA alpha (scaling alpha / r).</param>
    /// <param name="blockSize">Weights per quantization block; it must divide every quantized layer's weight count.</param>
    /// <param name="options">Columns, training and generation options.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator QLoraTextGenerator(PretrainedDecoder decoder, int rank = 8, double alpha = 16, int blockSize = 64,
                                                          TextGeneratorTrainerOptions? options = null, Action<string>? log = null) =>
        TextGenerator(decoder, new QLoraOptions
        {
            Lora = new LoraOptions { Rank = rank, Alpha = alpha, TaskType = "CAUSAL_LM" },
            Quantization = new QuantizationOptions { BlockSize = blockSize },
        }, options, log);

    /// <summary>Fine-tunes <paramref name="decoder"/> with any PEFT method given as options (LoRA, BitFit, full fine-tuning, ...).</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The method and its options.</param>
    /// <param name="options">Columns, training and generation options.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator TextGenerator(PretrainedDecoder decoder, IPeftMethodOptions method, TextGeneratorTrainerOptions? options = null,
                                                     Action<string>? log = null) =>
        new(decoder, method, options) { Log = log };

    /// <summary>Perplexity of a fitted generator on <paramref name="data"/> (see <see cref="PeftTextGenerationTransformer.EvaluatePerplexity"/>).</summary>
    public PerplexityMetrics EvaluatePerplexity(PeftTextGenerationTransformer model, IDataView data, string? textColumnName = null, string? completionColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.EvaluatePerplexity(data, textColumnName, completionColumnName);
    }
}
