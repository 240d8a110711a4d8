using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// Options of <see cref="PeftTextClassificationEstimator"/>: which PEFT method, how to train, which columns to read,
/// and where to run. The method is data (<see cref="Method"/>); every method shares the same estimator.
/// </summary>
/// <example><code>
/// var options = new TextClassifierOptions
/// {
///     Method = new LoraOptions { Rank = 8, Alpha = 16 },
///     Training = new TrainingOptions { Epochs = 2, LearningRate = 5e-4 },
///     MaxLength = 128,
/// };
/// var estimator = mlContext.Peft().TextClassifier(model, options);
/// </code></example>
public sealed class TextClassifierOptions
{
    /// <summary>The PEFT method and its settings (for example <c>LoraOptions</c>, <c>IA3Options</c>). Required.</summary>
    public IPeftMethodOptions? Method { get; set; }

    /// <summary>Optimizer, schedule, epochs, batch size, precision, seed and the other training settings.</summary>
    public TrainingOptions Training { get; set; } = new();

    /// <summary>The key-typed label column (make it with <c>MapValueToKey</c>). Default <c>Label</c>.</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>The text column to classify. Default <c>Text</c>.</summary>
    public string TextColumnName { get; set; } = "Text";

    /// <summary>
    /// An optional second text column for sentence-pair tasks (entailment, paraphrase, question/answer): each row is
    /// encoded as <c>[CLS] text [SEP] pair [SEP]</c> with segment ids, as the model was pre-trained. Null (the default) for single texts.
    /// </summary>
    public string? PairColumnName { get; set; }

    /// <summary>
    /// Longest token sequence seen by the model (special tokens included); longer texts are truncated. Default 128;
    /// at most the model's <c>max_position_embeddings</c>.
    /// </summary>
    public int MaxLength { get; set; } = 128;

    /// <summary>Rows per forward pass when the fitted transformer scores data. Default 32.</summary>
    public int ScoringBatchSize { get; set; } = BatchedTextTransformer<float[]>.DefaultBatchSize;

    /// <summary>
    /// The TorchSharp device: <c>"cpu"</c>, <c>"cuda"</c>, <c>"cuda:N"</c>, or null / <c>"auto"</c> to follow
    /// <c>MLContext.GpuDeviceId</c> and then CUDA when available (see <c>TorchDevices.Resolve</c>).
    /// </summary>
    public string? Device { get; set; }

    /// <summary>
    /// Train and score in bfloat16 (frozen weights and activations in bf16, fp32 master copies of the trained ones):
    /// about 2-3x faster on CPUs with AMX / AVX-512 bf16 and on GPUs. Shorthand for
    /// <see cref="TrainingOptions.Precision"/> = <see cref="TrainingPrecision.BFloat16"/>.
    /// </summary>
    public bool UseBFloat16
    {
        get => Training.Precision == TrainingPrecision.BFloat16;
        set => Training.Precision = value ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32;
    }

    /// <summary>
    /// Fraction of the training rows held out (after a seeded shuffle) to measure validation loss and accuracy after
    /// each epoch; the trainer's early stopping and best-weight restore use it. 0 (the default) holds out nothing.
    /// </summary>
    public double ValidationFraction { get; set; }

    /// <summary>
    /// Store the base model's files inside the saved model zip, so it loads on a machine without the base model
    /// folder. Default false: the zip references the folder by path and SHA-256 content hash.
    /// </summary>
    public bool EmbedBaseModel { get; set; }

    /// <summary>Receives a report after every optimizer step and evaluation (for a progress bar).</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Stops training at the next optimizer step; <c>Fit</c> then throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// The longest sequence <paramref name="model"/> accepts: its position table, less RoBERTa's offset (its positions
    /// start after the padding id).
    /// </summary>
    public static int UsableLength(PretrainedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Config;
        return config.IsRoberta ? config.MaxPositionEmbeddings - config.PadTokenId - 1 : config.MaxPositionEmbeddings;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Method is null)
            throw new ArgumentException($"{nameof(TextClassifierOptions)}.{nameof(Method)} must be set (for example new LoraOptions()).", nameof(Method));
        ArgumentNullException.ThrowIfNull(Training, nameof(Training));
        Training.Validate();
        ArgumentException.ThrowIfNullOrWhiteSpace(LabelColumnName, nameof(LabelColumnName));
        ArgumentException.ThrowIfNullOrWhiteSpace(TextColumnName, nameof(TextColumnName));
        if (PairColumnName is not null && (string.IsNullOrWhiteSpace(PairColumnName) || PairColumnName == TextColumnName))
            throw new ArgumentException($"{nameof(TextClassifierOptions)}.{nameof(PairColumnName)} = '{PairColumnName}' must name a second text column, other than '{TextColumnName}'.", nameof(PairColumnName));
        if (MaxLength < 2)
            throw new ArgumentException($"{nameof(TextClassifierOptions)}.{nameof(MaxLength)} = {MaxLength} must be at least 2 (room for the special tokens).", nameof(MaxLength));
        if (ScoringBatchSize < 1)
            throw new ArgumentException($"{nameof(TextClassifierOptions)}.{nameof(ScoringBatchSize)} = {ScoringBatchSize} must be at least 1.", nameof(ScoringBatchSize));
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new ArgumentException($"{nameof(TextClassifierOptions)}.{nameof(ValidationFraction)} = {ValidationFraction} must be in [0, 1).", nameof(ValidationFraction));
    }
}
