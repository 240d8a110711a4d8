using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(PeftTextGenerationTransformer), null, typeof(SignatureLoadModel),
    "PEFT text generator", PeftTextGenerationTransformer.LoaderSignature)]

namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>
/// A fitted PEFT text generator: reads prompts from <see cref="BatchedTextTransformer{TResult}.TextColumnName"/>,
/// generates in batches with <see cref="GenerationOptions"/>, and writes the continuation (without the prompt) into
/// <see cref="OutputColumnName"/>. Saved by <c>mlContext.Model.Save</c> with the adapter inside the zip and the base
/// decoder referenced by folder and SHA-256 (see <see cref="GenerationModelPersistence"/>).
/// </summary>
/// <remarks>
/// Prompts are checked before any decoding: an empty prompt is an error (a decoder needs a token to continue; to
/// generate unconditionally, start the prompt with text of your own), and so is a prompt whose tokens plus
/// <see cref="GenerationOptions.MaxNewTokens"/> exceed the model's context (<c>n_positions</c> /
/// <c>max_position_embeddings</c>); nothing is truncated silently. Both messages name the input column.
/// </remarks>
public sealed class PeftTextGenerationTransformer : BatchedTextTransformer<string>
{
    internal const string LoaderSignature = "PeftTextGenerator";

    internal PeftTextGenerationTransformer(GenerationModelState state, TextGeneratorTrainerOptions options)
        : base(options.InputColumnName, options.InferenceBatchSize)
    {
        State = state;
        Options = options;
        OutputColumns = new[]
        {
            new BatchOutputColumn<string, ReadOnlyMemory<char>>(options.OutputColumnName, TextDataViewType.Instance,
                (string result, ref ReadOnlyMemory<char> value) => value = result.AsMemory()),
        };
    }

    internal GenerationModelState State { get; }

    internal TextGeneratorTrainerOptions Options { get; }

    /// <summary>The column the generated text goes to.</summary>
    public string OutputColumnName => Options.OutputColumnName;

    /// <summary>How rows are continued (a copy; change it with <see cref="WithGenerationOptions"/>).</summary>
    public GenerationOptions GenerationOptions => GenerationModelPersistence.Copy(Options.Generation);

    /// <summary>The PEFT method's <c>peft_type</c> (e.g. <c>LORA</c>).</summary>
    public string PeftType => State.Peft.PeftType;

    /// <summary>Folder of the base decoder.</summary>
    public string BaseModelDirectory => State.Decoder.Directory;

    /// <summary>A transformer over the same model that generates with other options (e.g. beam search instead of sampling).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public PeftTextGenerationTransformer WithGenerationOptions(GenerationOptions generation)
    {
        ArgumentNullException.ThrowIfNull(generation);
        generation.Validate();
        var options = GenerationModelPersistence.CopyOptions(Options);
        options.Generation = GenerationModelPersistence.Copy(generation);
        return new PeftTextGenerationTransformer(State, options);
    }

    /// <summary>Generates for prompts directly, outside a pipeline (the same checks and decoding as <c>Transform</c>).</summary>
    /// <exception cref="ArgumentException">
    /// A prompt is empty, or its tokens plus <see cref="GenerationOptions.MaxNewTokens"/> exceed the model's context; the
    /// message names the column and quotes the prompt. Prompts are never truncated or replaced silently.
    /// </exception>
    public IReadOnlyList<string> Generate(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return ScoreBatch(prompts);
    }

    /// <summary>
    /// Perplexity of the adapted model on <paramref name="data"/>: each row of <paramref name="textColumnName"/>
    /// (default: the training text column) scored as in training (windows of the training length, end-of-text
    /// appended). With <paramref name="completionColumnName"/>, only completion tokens after the prompt column's text count.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not text.</exception>
    /// <exception cref="InvalidOperationException">No token to score.</exception>
    public PerplexityMetrics EvaluatePerplexity(IDataView data, string? textColumnName = null, string? completionColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        int maxLength = Options.MaxSequenceLength ?? State.Model.MaxPositions;
        var examples = completionColumnName is null
            ? TextColumns.Read(data, textColumnName ?? Options.TextColumnName)
                .SelectMany(t => CausalLmExamples.FromText(State.Tokenizer, t, maxLength))
            : TextColumns.ReadPairs(data, textColumnName ?? Options.PromptColumnName ?? Options.TextColumnName, completionColumnName)
                .Select(p => CausalLmExamples.FromPromptCompletion(State.Tokenizer, p.Item1, p.Item2, maxLength))
                .OfType<CausalLmExample>();
        return State.Perplexity(examples.ToList(), Math.Max(1, Options.Training.BatchSize));
    }

    private protected override IReadOnlyList<BatchOutputColumn<string>> OutputColumns { get; }

    private protected override IReadOnlyList<string> ScoreBatch(IReadOnlyList<string> texts)
    {
        CheckPrompts(texts);
        lock (State.Lock)
        {
            ((TorchSharp.torch.nn.Module)State.Model).eval();
            return State.Generator.Generate(texts, Options.Generation);
        }
    }

    // Empty prompts and prompts that leave no room for MaxNewTokens are errors, not silently changed: the message names
    // the column and quotes the prompt, so the row can be found and fixed (or shortened by the caller, from the left).
    void CheckPrompts(IReadOnlyList<string> texts)
    {
        int context = State.Model.MaxPositions, room = context - Options.Generation.MaxNewTokens;
        for (int i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrEmpty(texts[i]))
                throw new ArgumentException($"Prompt {i} of the batch (column '{TextColumnName}') is empty; a decoder needs at least one token to continue.", nameof(texts));
            int tokens = State.Tokenizer.EncodeToIds(texts[i]).Count;
            if (tokens > room)
                throw new ArgumentException(
                    $"A prompt in column '{TextColumnName}' (\"{Quote(texts[i])}\") has {tokens} tokens; with GenerationOptions.MaxNewTokens = {Options.Generation.MaxNewTokens} " +
                    $"it exceeds the model's context of {context} positions. Shorten the prompt to at most {room} tokens (keep its end), or lower MaxNewTokens.",
                    nameof(texts));
        }
    }

    static string Quote(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private protected override void SaveModel(ModelSaveContext ctx) => GenerationModelPersistence.Save(ctx, this);

    /// <summary>ML.NET's loader entry point (found through the LoadableClass attribute above).</summary>
    static PeftTextGenerationTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => GenerationModelPersistence.Load(env, ctx);
}
