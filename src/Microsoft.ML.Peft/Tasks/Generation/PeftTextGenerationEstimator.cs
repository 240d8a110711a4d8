using Microsoft.ML.Data;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>
/// Fine-tunes a pretrained decoder with any PEFT method (the method is data: an <see cref="IPeftMethodOptions"/>)
/// as a causal language model, on a text column or on prompt + completion columns (see
/// <see cref="TextGeneratorTrainerOptions"/>), and returns a <see cref="PeftTextGenerationTransformer"/> that
/// continues prompts.
/// </summary>
public sealed class PeftTextGenerationEstimator : IEstimator<PeftTextGenerationTransformer>
{
    readonly PretrainedDecoder decoder;
    readonly IPeftMethodOptions method;
    readonly TextGeneratorTrainerOptions options;

    /// <summary>
    /// Creates the estimator; options are checked here, before any data is read or weights are loaded, including
    /// those that depend on the decoder's context length (<c>n_positions</c> / <c>max_position_embeddings</c>).
    /// </summary>
    /// <param name="decoder">The base model (<see cref="PretrainedDecoder.FromDirectory"/>); it needs a tokenizer.</param>
    /// <param name="method">The PEFT method, e.g. <c>new LoraOptions { Rank = 8, Alpha = 16 }</c>.</param>
    /// <param name="options">Columns, training and generation options; defaults when null.</param>
    /// <exception cref="ArgumentException">An option is invalid (named, with its value).</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A size or generation option is out of range, <see cref="TextGeneratorTrainerOptions.MaxSequenceLength"/> exceeds the
    /// decoder's context, or <see cref="GenerationOptions.MaxNewTokens"/> leaves no room in it for a prompt.
    /// </exception>
    /// <exception cref="NotSupportedException">The decoder folder has no tokenizer this library reads.</exception>
    public PeftTextGenerationEstimator(PretrainedDecoder decoder, IPeftMethodOptions method, TextGeneratorTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(method);
        options ??= new TextGeneratorTrainerOptions();
        options.Validate();
        options.ValidateFor(ContextLength(decoder), decoder.Directory);
        _ = decoder.Tokenizer;  // fail now, with the folder's explanation, rather than after reading the data
        (this.decoder, this.method, this.options) = (decoder, method, options);
    }

    /// <summary>The PEFT method this estimator applies.</summary>
    public IPeftMethodOptions Method => method;

    /// <summary>A copy of the columns, training and generation options the estimator was created with.</summary>
    public TextGeneratorTrainerOptions Options => GenerationModelPersistence.CopyOptions(options);

    // The longest sequence the decoder takes, from its configuration (no weights are loaded).
    static int ContextLength(PretrainedDecoder decoder) => decoder.Gpt2Config?.NPositions ?? decoder.LlamaConfig!.MaxPositionEmbeddings;

    /// <summary>Log lines of the training run (trainable parameters, losses); none when null.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>The result of the last <see cref="Fit"/>'s training run (history, steps, stop reason).</summary>
    public TrainingResult? LastTrainingResult { get; private set; }

    /// <summary>Seconds the last <see cref="Fit"/> spent training (not loading or tokenizing).</summary>
    public double LastTrainingSeconds { get; private set; }

    /// <summary>
    /// Checks the training columns, then loads the base weights, applies the method, trains on <paramref name="input"/>
    /// and returns the generator.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A training column is missing or not text (named); checked before any weight is loaded.</exception>
    /// <exception cref="InvalidOperationException">No row has text to learn from.</exception>
    /// <exception cref="ArgumentException">The method cannot be applied to this decoder (the message says why).</exception>
    public PeftTextGenerationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(SchemaChecks.ShapeOf(input.Schema));   // a wrong column fails now, not after loading the weights
        var (model, peft) = Prepare();
        var module = (nn.Module)model;
        try
        {
            int maxLength = Math.Min(options.MaxSequenceLength ?? model.MaxPositions, model.MaxPositions);
            var tokenizer = decoder.Tokenizer;
            var examples = options.IsPromptCompletion
                ? TextColumns.ReadPairs(input, options.PromptColumnName!, options.CompletionColumnName!)
                    .Select(p => CausalLmExamples.FromPromptCompletion(tokenizer, p.Item1, p.Item2, maxLength)).OfType<CausalLmExample>().ToList()
                : TextColumns.Read(input, options.TextColumnName).SelectMany(t => CausalLmExamples.FromText(tokenizer, t, maxLength)).ToList();
            if (examples.Count == 0)
                throw new InvalidOperationException($"No training text: every row of column '{(options.IsPromptCompletion ? options.CompletionColumnName : options.TextColumnName)}' is empty.");

            var training = options.Training;
            int batch = training.BatchSize;
            int batchesPerEpoch = (examples.Count + batch - 1) / batch;
            var trainer = new Trainer<CausalLmExample[]>(training, module.named_parameters(), b =>
            {
                var (ids, mask, labels) = CausalLmExamples.Collate(b, tokenizer.SpecialTokens.Pad);
                return CausalLmLoss.Mean(model, ids, mask, labels);
            }) { Model = module, Log = Log };
            var watch = System.Diagnostics.Stopwatch.StartNew();
            LastTrainingResult = trainer.Fit(epoch => epoch.Permutation(examples.Count).Select(i => examples[i]).Chunk(batch), batchesPerEpoch);
            LastTrainingSeconds = watch.Elapsed.TotalSeconds;
        }
        catch
        {
            module.Dispose();
            throw;
        }
        return Wrap(model, peft);
    }

    /// <summary>
    /// The transformer <see cref="Fit"/> starts from: base weights with the method applied and no training step
    /// (for LoRA and IA3 this computes exactly the base model). Use it for "before fine-tuning" figures.
    /// </summary>
    /// <exception cref="ArgumentException">The method cannot be applied to this decoder.</exception>
    public PeftTextGenerationTransformer CreateBaseline()
    {
        var (model, peft) = Prepare();
        return Wrap(model, peft);
    }

    // Loads the base weights and applies the method; a method that does not fit the architecture says so by name.
    (ICausalLM Model, IPeftModel Peft) Prepare()
    {
        // Seed before the adapter is initialised, so a seeded fit is reproducible end to end whatever ran before it
        // in the process (generation, another fit).
        if (options.Training.Seed is int seed) random.manual_seed(seed);
        var model = decoder.LoadModel();
        var module = (nn.Module)model;
        try
        {
            return (model, method.Apply(module));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidCastException)
        {
            module.Dispose();
            throw new ArgumentException($"PEFT method {method.PeftType} cannot be applied to the {decoder.ModelType} decoder in {decoder.Directory}: {e.Message}", nameof(method), e);
        }
    }

    PeftTextGenerationTransformer Wrap(ICausalLM model, IPeftModel peft)
    {
        ((nn.Module)model).eval();
        var state = new GenerationModelState(decoder, peft, GenerationModelState.HashBase(decoder.Directory));
        return new PeftTextGenerationTransformer(state, options);
    }

    /// <summary>Checks the training columns and appends the generated-text column.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not text.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (options.IsPromptCompletion)
        {
            SchemaChecks.CheckTextColumn(inputSchema, options.PromptColumnName!, "Prompt");
            SchemaChecks.CheckTextColumn(inputSchema, options.CompletionColumnName!, "Completion");
        }
        else SchemaChecks.CheckTextColumn(inputSchema, options.TextColumnName);
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[options.OutputColumnName] = new SchemaShape.Column(options.OutputColumnName, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false);
        return new SchemaShape(columns.Values);
    }
}
