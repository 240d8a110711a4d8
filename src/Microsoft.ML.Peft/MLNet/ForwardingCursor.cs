using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// The cursor of a batched view when no appended column is asked for: it forwards every call to the input
/// cursor (pass-through columns keep their indices in the output schema), so nothing is scored or buffered.
/// </summary>
internal sealed class ForwardingCursor : DataViewRowCursor
{
    readonly DataViewRowCursor _input;

    public ForwardingCursor(DataViewRowCursor input, DataViewSchema schema)
    {
        _input = input;
        Schema = schema;
    }

    public override DataViewSchema Schema { get; }
    public override long Position => _input.Position;
    public override long Batch => _input.Batch;
    public override bool MoveNext() => _input.MoveNext();
    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) =>
        column.Index < _input.Schema.Count && _input.IsColumnActive(_input.Schema[column.Index]);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (!IsColumnActive(column))
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created; pass it in columnsNeeded.");
        return _input.GetGetter<TValue>(_input.Schema[column.Index]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _input.Dispose();
        base.Dispose(disposing);
    }
}
