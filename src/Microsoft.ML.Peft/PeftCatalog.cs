using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Methods.PTuning;
using Microsoft.ML.Peft.Tasks.TextClassification;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft;

/// <summary>
/// Parameter-efficient fine-tuning estimators, reached with <c>mlContext.Peft()</c>. Each text classifier comes as a
/// short overload of the common arguments and an overload taking <see cref="TextClassifierOptions"/>; all of them build
/// the same <see cref="PeftTextClassificationEstimator"/> with a different method.
/// </summary>
/// <example><code>
/// var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
///     .Append(mlContext.Peft().LoraTextClassifier(model, rank: 8, alpha: 16, maxEpochs: 3));
/// </code></example>
public sealed partial class PeftCatalog
{
    internal PeftCatalog(MLContext context) => Context = context;

    /// <summary>The context the estimators belong to.</summary>
    public MLContext Context { get; }

    /// <summary>A text classifier with any method: <see cref="TextClassifierOptions.Method"/> must be set.</summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="options">Method, training, columns, device.</param>
    public PeftTextClassificationEstimator TextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        new(Context, model, options);

    /// <summary>
    /// LoRA (Hu et al., 2021): trains low-rank updates of the attention's query and value projections (by default) and
    /// the classifier head; a fraction of a percent of the parameters, accuracy close to full fine-tuning.
    /// </summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="rank">Rank r of each update.</param>
    /// <param name="alpha">Scale numerator: the update is multiplied by alpha / r.</param>
    /// <param name="dropout">Dropout on the adapters' input while training.</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator LoraTextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int rank = 8, double alpha = 16, double dropout = 0.1, int maxEpochs = 3, double learningRate = 1e-3, int batchSize = 16) =>
        Short(model, new LoraOptions { Rank = rank, Alpha = alpha, Dropout = dropout }, labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>LoRA with full control; <see cref="TextClassifierOptions.Method"/> must be null (a default <see cref="LoraOptions"/>) or a <see cref="LoraOptions"/>.</summary>
    public PeftTextClassificationEstimator LoraTextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<LoraOptions>(model, options);

    /// <summary>
    /// Prompt tuning (Lester et al., 2021): trains <paramref name="numVirtualTokens"/> soft-prompt embeddings prepended to
    /// the input, and the head. Needs a higher learning rate than weight-based methods.
    /// </summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="numVirtualTokens">Soft-prompt length (counts against the model's maximum length).</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator PromptTuningTextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int numVirtualTokens = 20, int maxEpochs = 3, double learningRate = 2e-2, int batchSize = 16) =>
        Short(model, new PromptTuningOptions { NumVirtualTokens = numVirtualTokens }, labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>Prompt tuning with full control; the method must be null or a <see cref="PromptTuningOptions"/>.</summary>
    public PeftTextClassificationEstimator PromptTuningTextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<PromptTuningOptions>(model, options);

    /// <summary>
    /// P-Tuning (Liu et al., 2021): virtual tokens produced by a small prompt encoder (MLP or LSTM) and prepended to the input.
    /// </summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="numVirtualTokens">Virtual tokens.</param>
    /// <param name="encoderType">The prompt encoder.</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator PTuningTextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int numVirtualTokens = 20, PromptEncoderType encoderType = PromptEncoderType.Mlp, int maxEpochs = 3, double learningRate = 1e-2, int batchSize = 16) =>
        Short(model, new PTuningOptions { NumVirtualTokens = numVirtualTokens, EncoderType = encoderType }, labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>P-Tuning with full control; the method must be null or a <see cref="PTuningOptions"/>.</summary>
    public PeftTextClassificationEstimator PTuningTextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<PTuningOptions>(model, options);

    /// <summary>
    /// Prefix tuning / P-Tuning v2 (Li and Liang, 2021; Liu et al., 2022): trainable key/value prefixes in every attention layer.
    /// </summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="numVirtualTokens">Prefix length per layer.</param>
    /// <param name="prefixProjection">Reparameterize the prefixes through an MLP while training.</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator PrefixTuningTextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int numVirtualTokens = 20, bool prefixProjection = false, int maxEpochs = 3, double learningRate = 1e-2, int batchSize = 16) =>
        Short(model, new PrefixTuningOptions { NumVirtualTokens = numVirtualTokens, PrefixProjection = prefixProjection }, labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>Prefix tuning with full control; the method must be null or a <see cref="PrefixTuningOptions"/>.</summary>
    public PeftTextClassificationEstimator PrefixTuningTextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<PrefixTuningOptions>(model, options);

    /// <summary>
    /// Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021): small down/up projections inside every block.
    /// </summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="reductionFactor">Hidden size divided by the bottleneck size.</param>
    /// <param name="kind">Placement: Pfeiffer (after the feed-forward), Houlsby (after attention and feed-forward) or parallel.</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator AdapterTextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int reductionFactor = 16, BottleneckAdapterKind kind = BottleneckAdapterKind.Pfeiffer, int maxEpochs = 3, double learningRate = 1e-3, int batchSize = 16) =>
        Short(model, new BottleneckAdapterOptions { ReductionFactor = reductionFactor, Kind = kind }, labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>Bottleneck adapters with full control; the method must be null or a <see cref="BottleneckAdapterOptions"/>.</summary>
    public PeftTextClassificationEstimator AdapterTextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<BottleneckAdapterOptions>(model, options);

    /// <summary>
    /// IA3 (Liu et al., 2022): learned vectors that rescale keys, values and the feed-forward activations; the fewest
    /// trainable parameters of the weight-based methods.
    /// </summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator IA3TextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int maxEpochs = 3, double learningRate = 5e-3, int batchSize = 16) =>
        Short(model, new IA3Options(), labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>IA3 with full control; the method must be null or an <see cref="IA3Options"/>.</summary>
    public PeftTextClassificationEstimator IA3TextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<IA3Options>(model, options);

    /// <summary>BitFit (Ben Zaken et al., 2022): trains only the bias terms and the head.</summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator BitFitTextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int maxEpochs = 3, double learningRate = 1e-3, int batchSize = 16) =>
        Short(model, new BitFitOptions(), labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>BitFit with full control; the method must be null or a <see cref="BitFitOptions"/>.</summary>
    public PeftTextClassificationEstimator BitFitTextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<BitFitOptions>(model, options);

    /// <summary>Full fine-tuning: every weight trains (the reference the PEFT methods are measured against).</summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator FullFineTuningTextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int maxEpochs = 3, double learningRate = 5e-5, int batchSize = 16) =>
        Short(model, new FullFineTuningOptions(), labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>Full fine-tuning with full control; the method must be null or a <see cref="FullFineTuningOptions"/>.</summary>
    public PeftTextClassificationEstimator FullFineTuningTextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<FullFineTuningOptions>(model, options);

    PeftTextClassificationEstimator Short(PretrainedModel model, IPeftMethodOptions method, string labelColumnName, string textColumnName,
                                          int maxEpochs, double learningRate, int batchSize) =>
        new(Context, model, new TextClassifierOptions
        {
            Method = method,
            LabelColumnName = labelColumnName,
            TextColumnName = textColumnName,
            MaxLength = Math.Min(new TextClassifierOptions().MaxLength, TextClassifierOptions.UsableLength(model)),
            Training = new TrainingOptions { Epochs = maxEpochs, LearningRate = learningRate, BatchSize = batchSize },
        });

    PeftTextClassificationEstimator WithMethod<TMethod>(PretrainedModel model, TextClassifierOptions options) where TMethod : IPeftMethodOptions, new()
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Method ??= new TMethod();
        if (options.Method is not TMethod)
            throw new ArgumentException($"{nameof(TextClassifierOptions)}.{nameof(TextClassifierOptions.Method)} is a {options.Method.GetType().Name}; " +
                $"this estimator takes a {typeof(TMethod).Name} (or use TextClassifier for any method).", nameof(options));
        return new PeftTextClassificationEstimator(Context, model, options);
    }
}
