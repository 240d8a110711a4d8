using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Methods.PTuning;
using Microsoft.ML.Peft.Tasks.Generation;

namespace Microsoft.ML.Peft;

// Prompt-learning and bottleneck-adapter text generators of mlContext.Peft(): prompt tuning, P-Tuning, prefix tuning,
// bottleneck adapters. Same shape as the weight-based ones (PeftCatalog.TextGenerators.cs); the method's options are
// checked here, when the estimator is created.
public sealed partial class PeftCatalog
{
    /// <summary>
    /// Prompt tuning (Lester et al., 2021) on a decoder: <paramref name="numVirtualTokens"/> trainable embeddings put before
    /// every input; the decoder is frozen. Virtual tokens count against the model's context.
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="numVirtualTokens">Soft-prompt length.</param>
    /// <param name="initText">
    /// When set, the soft prompt starts as the embeddings of this text's tokens (PEFT's <c>prompt_tuning_init</c> TEXT, tokenized
    /// with the decoder's tokenizer), else at random.
    /// </param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 3e-2 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator PromptTuningTextGenerator(PretrainedDecoder decoder, int numVirtualTokens = 20, string? initText = null,
                                                                 TextGeneratorTrainerOptions? options = null, Action<string>? log = null) =>
        PromptTuningTextGenerator(decoder, new PromptTuningOptions
        {
            NumVirtualTokens = numVirtualTokens,
            Init = initText is null ? PromptTuningInit.Random : PromptTuningInit.Text,
            InitText = initText,
        }, options, log);

    /// <summary>
    /// Prompt tuning with full control of its options. With <see cref="PromptTuningInit.Text"/> and no
    /// <see cref="PromptTuningOptions.Tokenize"/>, the decoder's tokenizer is used (on a copy of the options).
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The prompt-tuning options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 3e-2 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    /// <exception cref="ArgumentException">An option is out of range (named).</exception>
    public PeftTextGenerationEstimator PromptTuningTextGenerator(PretrainedDecoder decoder, PromptTuningOptions method, TextGeneratorTrainerOptions? options = null,
                                                                 Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(method);
        if (method.Init == PromptTuningInit.Text && method.Tokenize is null)
        {
            method = method.Clone();
            var tokenizer = decoder.Tokenizer;
            method.Tokenize = text => tokenizer.EncodeToIds(text);
            method.TokenizerNameOrPath ??= decoder.Directory;
        }
        method.Validate();
        return Generator(decoder, method, options, 3e-2, log);
    }

    /// <summary>
    /// P-Tuning (Liu et al., 2021) on a decoder: virtual tokens produced by a small prompt encoder (MLP or LSTM) and put
    /// before every input.
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="numVirtualTokens">Virtual tokens.</param>
    /// <param name="encoderType">The prompt encoder.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-2 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator PTuningTextGenerator(PretrainedDecoder decoder, int numVirtualTokens = 20, PromptEncoderType encoderType = PromptEncoderType.Mlp,
                                                            TextGeneratorTrainerOptions? options = null, Action<string>? log = null) =>
        PTuningTextGenerator(decoder, new PTuningOptions { NumVirtualTokens = numVirtualTokens, EncoderType = encoderType }, options, log);

    /// <summary>P-Tuning with full control of its options.</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The P-Tuning options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-2 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (named).</exception>
    public PeftTextGenerationEstimator PTuningTextGenerator(PretrainedDecoder decoder, PTuningOptions method, TextGeneratorTrainerOptions? options = null,
                                                            Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.Validate();
        return Generator(decoder, method, options, 1e-2, log);
    }

    /// <summary>
    /// Prefix tuning / P-Tuning v2 (Li and Liang, 2021; Liu et al., 2022) on a decoder: trainable key/value prefixes in
    /// every attention layer.
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="numVirtualTokens">Prefix length per layer.</param>
    /// <param name="prefixProjection">Reparameterize the prefixes through an MLP while training.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-2 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator PrefixTuningTextGenerator(PretrainedDecoder decoder, int numVirtualTokens = 20, bool prefixProjection = false,
                                                                 TextGeneratorTrainerOptions? options = null, Action<string>? log = null) =>
        PrefixTuningTextGenerator(decoder, new PrefixTuningOptions { NumVirtualTokens = numVirtualTokens, PrefixProjection = prefixProjection }, options, log);

    /// <summary>Prefix tuning with full control of its options.</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The prefix-tuning options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-2 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (named).</exception>
    public PeftTextGenerationEstimator PrefixTuningTextGenerator(PretrainedDecoder decoder, PrefixTuningOptions method, TextGeneratorTrainerOptions? options = null,
                                                                 Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.Validate();
        return Generator(decoder, method, options, 1e-2, log);
    }

    /// <summary>
    /// Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021) on a decoder: small down/up projections inside
    /// every block, starting at zero so the model starts equal to the base.
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="reductionFactor">Hidden size divided by the bottleneck size.</param>
    /// <param name="kind">Placement: Pfeiffer (after the feed-forward), Houlsby (after attention and feed-forward) or parallel.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator AdapterTextGenerator(PretrainedDecoder decoder, int reductionFactor = 16, BottleneckAdapterKind kind = BottleneckAdapterKind.Pfeiffer,
                                                            TextGeneratorTrainerOptions? options = null, Action<string>? log = null) =>
        AdapterTextGenerator(decoder, new BottleneckAdapterOptions { ReductionFactor = reductionFactor, Kind = kind }, options, log);

    /// <summary>Bottleneck adapters with full control of their options (activation, scaling, ...).</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The adapter options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    /// <exception cref="ArgumentException">An option is out of range or the activation is unknown (named).</exception>
    public PeftTextGenerationEstimator AdapterTextGenerator(PretrainedDecoder decoder, BottleneckAdapterOptions method, TextGeneratorTrainerOptions? options = null,
                                                            Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.Validate();
        return Generator(decoder, method, options, 1e-3, log);
    }
}
