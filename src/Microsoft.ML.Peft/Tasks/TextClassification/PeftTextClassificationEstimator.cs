using System.Diagnostics;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// Fine-tunes a pretrained transformer as a text classifier with any PEFT method (the method is data, in
/// <see cref="TextClassifierOptions.Method"/>). Create it with <c>mlContext.Peft().LoraTextClassifier(...)</c> and its
/// siblings.
/// </summary>
/// <remarks>
/// <para>Input: a text column and a key-typed label column with text key values (what <c>MapValueToKey</c> makes).
/// Output: <c>Score</c> (a vector of class probabilities) and <c>PredictedLabel</c> (a key with the label's key values).</para>
/// <para>Fit reads the data once, loads the model's sequence classifier on the chosen device, applies the method,
/// and trains with the library's trainer (AdamW, warmup + schedule, clipping; see <c>TrainingOptions</c>). Progress goes
/// to <see cref="TextClassifierOptions.Progress"/> and to <c>MLContext.Log</c>.</para>
/// </remarks>
public sealed class PeftTextClassificationEstimator : IEstimator<PeftTextClassificationTransformer>
{
    readonly MLContext _context;
    readonly PretrainedModel _model;
    readonly TextClassifierOptions _options;

    /// <summary>Creates the estimator; the options are validated here.</summary>
    /// <param name="context">The ML.NET context (device settings, log).</param>
    /// <param name="model">The pretrained model to fine-tune (a BERT-family Hugging Face folder).</param>
    /// <param name="options">Method, training, columns and device.</param>
    public PeftTextClassificationEstimator(MLContext context, PretrainedModel model, TextClassifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.MaxLength > TextClassifierOptions.UsableLength(model))
            throw new ArgumentException($"{nameof(TextClassifierOptions)}.{nameof(TextClassifierOptions.MaxLength)} = {options.MaxLength} exceeds the " +
                $"{TextClassifierOptions.UsableLength(model)} tokens the model's position table holds (max_position_embeddings {model.Config.MaxPositionEmbeddings}).", nameof(options));
        (_context, _model, _options) = (context, model, options);
    }

    /// <summary>The options this estimator trains with.</summary>
    public TextClassifierOptions Options => _options;

    /// <summary>Trains the classifier on <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (the message names it and the fix).</exception>
    /// <exception cref="InvalidOperationException">The data has no labelled rows, or only one class.</exception>
    /// <exception cref="OperationCanceledException"><see cref="TextClassifierOptions.CancellationToken"/> fired.</exception>
    public PeftTextClassificationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var host = ((IHostEnvironment)_context).Register(nameof(PeftTextClassificationEstimator));
        using var channel = host.Start("Fit");
        void Log(string line) => channel.Info(line);

        var data = LabelledTexts.Read(input, _options.LabelColumnName, _options.TextColumnName, _options.PairColumnName);
        var (train, validation) = data.Split(_options.ValidationFraction, _options.Training.Seed);
        var device = TorchDevices.Resolve(_options.Device, _context);
        Log($"{_options.Method!.PeftType} text classifier: {train.Count} training rows, {validation?.Count ?? 0} validation rows, " +
            $"{data.ClassNames.Length} classes, device {device}, max length {_options.MaxLength}");

        var reference = BaseModelReference.Of(_model.Directory);
        // Seed before the head and the adapter are initialised, so a seeded fit is reproducible end to end.
        if (_options.Training.Seed is int seed) TorchSharp.torch.random.manual_seed(seed);
        var classifier = AdaptedClassifier.Create(_model, data.ClassNames.Length, device, _options.MaxLength, _options.UseBFloat16,
            _options.Method.Apply);
        try
        {
            var clock = Stopwatch.StartNew();
            var result = ClassifierTraining.Train(classifier, train, validation, _options, Log);
            Log($"trained {result.StepsCompleted} steps in {clock.Elapsed.TotalSeconds:F1} s ({result.StopReason})");
            return new PeftTextClassificationTransformer(_options.TextColumnName, _options.PairColumnName, _options.ScoringBatchSize, data.ClassNames,
                classifier, reference, _options.EmbedBaseModel, result.History);
        }
        catch
        {
            classifier.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks the input shape (text column of text, label column a key with text key values) and appends
    /// <c>Score</c> and <c>PredictedLabel</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type; the message names it and the fix.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.CheckKeyLabelColumn(inputSchema, _options.LabelColumnName);
        SchemaChecks.CheckTextColumn(inputSchema, _options.TextColumnName);
        if (_options.PairColumnName is string pair) SchemaChecks.CheckTextColumn(inputSchema, pair, "Second text");
        return MulticlassOutputColumns.AppendTo(inputSchema);
    }
}
