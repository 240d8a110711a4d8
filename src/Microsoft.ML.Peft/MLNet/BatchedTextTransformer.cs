using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// Base of our text transformers (classification, generation): reads one text column, scores rows in batches,
/// and appends the columns described by <see cref="OutputColumns"/>. Input columns pass through unchanged.
/// </summary>
/// <remarks>
/// <para><see cref="Transform"/> is lazy: it returns a view and scores nothing until a cursor over that view
/// moves, and then pulls <see cref="BatchSize"/> input rows at a time and calls the batch scorer once per batch
/// (a transformer's forward pass is far cheaper per row in batches). Cursors that ask only for pass-through
/// columns never score. <see cref="GetRowToRowMapper"/> serves ML.NET's single-row path
/// (<c>CreatePredictionEngine</c>), which scores a batch of one per row.</para>
/// <para>Thread safety: one model instance may be used by several cursors and prediction engines at once, on
/// different threads, so the batch scorer is called concurrently. Implementations must be stateless
/// (like the toy keyword classifier) or serialize their forward pass with a lock (a Torch module with a
/// shared cache, for instance).</para>
/// <para>Persistence: subclasses save themselves through ML.NET's <c>ModelSaveContext</c> and declare a
/// <c>[assembly: LoadableClass]</c> with a static <c>Create(IHostEnvironment, ModelLoadContext)</c>, so
/// <c>mlContext.Model.Load</c> finds them with no registration call.</para>
/// </remarks>
/// <typeparam name="TResult">What the batch scorer returns for one row (for example a <c>float[]</c> of class scores).</typeparam>
public abstract class BatchedTextTransformer<TResult> : ITransformer, ICanSaveModel
{
    /// <summary>The default number of rows scored per call.</summary>
    public const int DefaultBatchSize = 32;

    private protected BatchedTextTransformer(string textColumnName, int batchSize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(textColumnName);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        TextColumnName = textColumnName;
        BatchSize = batchSize;
    }

    /// <summary>The input column holding the text to score.</summary>
    public string TextColumnName { get; }

    /// <summary>How many rows one call of the batch scorer receives (the last batch may be smaller).</summary>
    public int BatchSize { get; }

    /// <summary>Always true: every output row depends on one input row only.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The columns this transformer appends, in order.</summary>
    private protected abstract IReadOnlyList<BatchOutputColumn<TResult>> OutputColumns { get; }

    /// <summary>Scores one batch: exactly one result per text, in order. May be called concurrently (see remarks).</summary>
    private protected abstract IReadOnlyList<TResult> ScoreBatch(IReadOnlyList<string> texts);

    /// <summary>
    /// An optional second text column read with the first (sentence pairs); null for none. When set, batches go to
    /// <see cref="ScoreBatch(IReadOnlyList{string}, IReadOnlyList{string})"/>.
    /// </summary>
    public virtual string? PairColumnName => null;

    /// <summary>Scores one batch of text pairs (only called when <see cref="PairColumnName"/> is set).</summary>
    private protected virtual IReadOnlyList<TResult> ScoreBatch(IReadOnlyList<string> texts, IReadOnlyList<string> pairs) =>
        throw new NotSupportedException($"{GetType().Name} does not score text pairs.");

    /// <summary>Writes the model into ML.NET's model file (version info, config, weights).</summary>
    private protected abstract void SaveModel(ModelSaveContext ctx);

    /// <summary>
    /// Checks <paramref name="inputSchema"/> (the text column must exist and hold text) and returns it with the
    /// output columns appended; an existing column of the same name is hidden, as in ML.NET.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The text column is missing or not text; the message names it and the fix.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaChecks.CheckTextColumn(inputSchema, TextColumnName);
        if (PairColumnName is string pair) SchemaChecks.CheckTextColumn(inputSchema, pair, "Second text");
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        foreach (var column in OutputColumns)
            builder.AddColumn(column.Name, column.Type, column.Annotations);
        return builder.ToSchema();
    }

    /// <summary>Returns a lazy view of <paramref name="input"/> with the output columns appended (see remarks).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The input has no usable text column.</exception>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new BatchedDataView<TResult>(this, input, GetOutputSchema(input.Schema));
    }

    /// <summary>The single-row mapper ML.NET's prediction engine uses.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new BatchedRowMapper<TResult>(this, inputSchema, GetOutputSchema(inputSchema));
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        SaveModel(ctx);
    }

    internal IReadOnlyList<BatchOutputColumn<TResult>> Outputs => OutputColumns;

    /// <summary>Calls the batch scorer and checks that it kept its side of the contract.</summary>
    internal IReadOnlyList<TResult> Score(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null)
    {
        var results = pairs is null ? ScoreBatch(texts) : ScoreBatch(texts, pairs);
        if (results is null || results.Count != texts.Count)
            throw new InvalidOperationException(
                $"{GetType().Name} returned {results?.Count.ToString() ?? "null"} results for a batch of {texts.Count} texts; it must return one per text.");
        return results;
    }
}
