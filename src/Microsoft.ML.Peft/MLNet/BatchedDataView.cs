using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// What <see cref="BatchedTextTransformer{TResult}.Transform"/> returns: the input view with the transformer's
/// columns appended, computed only when a cursor moves. Holds no rows of its own.
/// </summary>
internal sealed class BatchedDataView<TResult> : IDataView
{
    readonly BatchedTextTransformer<TResult> _transformer;
    readonly IDataView _input;

    public BatchedDataView(BatchedTextTransformer<TResult> transformer, IDataView input, DataViewSchema schema)
    {
        _transformer = transformer;
        _input = input;
        Schema = schema;
    }

    public DataViewSchema Schema { get; }

    /// <summary>Row order comes from the input, so shuffling is whatever the input supports.</summary>
    public bool CanShuffle => _input.CanShuffle;

    /// <summary>One output row per input row: the input's count (null when the input does not know it cheaply).</summary>
    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = new bool[Schema.Count];
        foreach (var column in columnsNeeded)
            needed[column.Index] = true;

        int inputCount = _input.Schema.Count;
        bool scoring = needed.Skip(inputCount).Any(n => n);
        var inputColumns = _input.Schema.Where(c => needed[c.Index]).ToList();
        if (!scoring)
            return new ForwardingCursor(_input.GetRowCursor(inputColumns, rand), Schema);

        var text = _input.Schema[_transformer.TextColumnName];
        if (!needed[text.Index])
            inputColumns.Add(text);
        if (_transformer.PairColumnName is string pairName && _input.Schema[pairName] is var pair && !inputColumns.Contains(pair))
            inputColumns.Add(pair);
        return new BatchedCursor<TResult>(_transformer, _input.GetRowCursor(inputColumns, rand), Schema, needed);
    }

    /// <summary>
    /// One cursor, whatever <paramref name="n"/> asks (ML.NET allows fewer): batching already amortizes the work,
    /// and a single cursor keeps the scorer's calls sequential per view.
    /// </summary>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];
}
