using Microsoft.ML.Data;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// A fitted PEFT text classifier: reads the text column and appends <c>Score</c> (class probabilities, softmax of the
/// logits, with the class names as slot names) and <c>PredictedLabel</c> (a key with the training label's key values),
/// so <c>mlContext.MulticlassClassification.Evaluate</c> and <c>MapKeyToValue</c> work unchanged.
/// </summary>
/// <remarks>
/// <para><c>Transform</c> is lazy and batched: rows are scored <see cref="BatchedTextTransformer{TResult}.BatchSize"/>
/// at a time in one forward pass each. A null or empty text is scored as the empty text; texts longer than
/// <see cref="MaxLength"/> tokens are truncated.</para>
/// <para>Thread safety: one instance may serve several cursors and prediction engines on different threads. The
/// tokenization runs in parallel, but the Torch forward passes are serialized by a lock, so concurrent callers
/// share one model's throughput instead of corrupting its state.</para>
/// <para>Persistence: <c>mlContext.Model.Save</c> writes the configuration, the adapter (PEFT format) and the
/// training history into the zip, and either a reference to the base model (path + SHA-256 of its config and
/// weights; loading fails clearly when it is missing or changed) or, with
/// <see cref="TextClassifierOptions.EmbedBaseModel"/>, the base model's files themselves.</para>
/// </remarks>
public sealed partial class PeftTextClassificationTransformer : BatchedTextTransformer<float[]>, IDisposable
{
    readonly AdaptedClassifier _classifier;
    readonly BaseModelReference _baseModel;
    readonly string? _pairColumnName;

    /// <summary>The second text column of sentence-pair models; null for single texts.</summary>
    public override string? PairColumnName => _pairColumnName;

    internal PeftTextClassificationTransformer(string textColumnName, string? pairColumnName, int batchSize, string[] classNames,
                                               AdaptedClassifier classifier, BaseModelReference baseModel, bool embedBaseModel, TrainingHistory? history)
        : base(textColumnName, batchSize)
    {
        _pairColumnName = pairColumnName;
        if (classNames.Length != classifier.NumLabels)
            throw new ArgumentException($"{classNames.Length} class names for a classifier of {classifier.NumLabels} labels.", nameof(classNames));
        ClassNames = classNames;
        _classifier = classifier;
        _baseModel = baseModel;
        EmbedBaseModel = embedBaseModel;
        TrainingHistory = history;
        OutputColumns = MulticlassOutputColumns.Create<float[]>(classNames, scores => scores);
    }

    /// <summary>The class names in key order (key 1 is <c>ClassNames[0]</c>), taken from the label's key values.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The PEFT method's <c>peft_type</c> (<c>LORA</c>, <c>IA3</c>, ...).</summary>
    public string PeftType => _classifier.Peft.PeftType;

    /// <summary>Longest token sequence fed to the model; longer texts are truncated.</summary>
    public int MaxLength => _classifier.MaxLength;

    /// <summary>The base model folder the classifier was trained on (as recorded when it was fitted).</summary>
    public string BaseModelPath => _baseModel.Path;

    /// <summary>Whether a saved model carries the base model's files (see <see cref="TextClassifierOptions.EmbedBaseModel"/>).</summary>
    public bool EmbedBaseModel { get; }

    /// <summary>Trainable and total parameter counts of the adapted model.</summary>
    public TrainableParameterCount TrainableParameters => _classifier.Peft.TrainableParameters();

    /// <summary>The device the model runs on (<c>cpu</c>, <c>cuda:0</c>, ...).</summary>
    public string Device => _classifier.Device.ToString();

    /// <summary>Everything measured while fitting (per-step loss, learning rate, evaluations); saved with the model.</summary>
    public TrainingHistory? TrainingHistory { get; }

    private protected override IReadOnlyList<BatchOutputColumn<float[]>> OutputColumns { get; }

    int _scoringCalls;

    /// <summary>How many batches have been scored (tests check that Transform is lazy and batched with it).</summary>
    internal int ScoringCalls => Volatile.Read(ref _scoringCalls);

    private protected override IReadOnlyList<float[]> ScoreBatch(IReadOnlyList<string> texts)
    {
        Interlocked.Increment(ref _scoringCalls);
        return _classifier.Probabilities(texts.Select(t => t ?? "").ToArray());
    }

    private protected override IReadOnlyList<float[]> ScoreBatch(IReadOnlyList<string> texts, IReadOnlyList<string> pairs)
    {
        Interlocked.Increment(ref _scoringCalls);
        return _classifier.Probabilities(texts.Select(t => t ?? "").ToArray(), pairs.Select(t => t ?? "").ToArray());
    }

    /// <summary>Saves the training curves (loss, learning rate, validation metric) as a PNG.</summary>
    /// <exception cref="InvalidOperationException">The transformer has no training history.</exception>
    public void SaveTrainingPlot(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var history = TrainingHistory ?? throw new InvalidOperationException("This classifier has no training history to plot.");
        TrainingPlot.SavePng(history, path, history.Evaluations.Count > 0 ? EvaluationResult.AccuracyKey : null);
    }

    /// <summary>
    /// Writes the adapter in Hugging Face PEFT's format (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>,
    /// classifier head included) into <paramref name="folder"/>; <c>PeftMethods.Load</c> or Python's
    /// <c>PeftModel.from_pretrained</c> read it back onto the same base model.
    /// </summary>
    public void ExportAdapter(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        _classifier.Peft.SaveAdapter(folder);
    }

    /// <summary>
    /// Writes a complete Hugging Face model folder (<c>config.json</c> with the labels, <c>model.safetensors</c> with the
    /// adapter merged into the weights, tokenizer files) that loads without PEFT. Supported for LoRA and IA3, whose
    /// updates fold into the weights.
    /// </summary>
    /// <exception cref="NotSupportedException">The method cannot be merged (prompt-based methods, bottleneck adapters, ...).</exception>
    public void ExportMergedModel(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        using var adapter = new ScratchFolder("adapter");
        ExportAdapter(adapter.Path);
        MergedModelExport.Write(_classifier.BaseModel, adapter.Path, ClassNames, folder);
    }

    /// <summary>Releases the model's tensors.</summary>
    public void Dispose() => _classifier.Dispose();
}
