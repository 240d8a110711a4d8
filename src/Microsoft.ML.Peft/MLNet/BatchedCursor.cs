using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// The cursor of a batched view when at least one appended column is asked for. On the first move and each
/// time the current batch is used up, it reads up to <c>BatchSize</c> rows from the input cursor (copying the
/// asked-for pass-through values and the text), calls the scorer once for the whole batch, then serves the
/// rows one by one from those buffers.
/// </summary>
internal sealed class BatchedCursor<TResult> : DataViewRowCursor
{
    readonly BatchedTextTransformer<TResult> _transformer;
    readonly DataViewRowCursor _input;
    readonly int _inputCount;
    readonly bool[] _active;
    readonly InputColumnBuffer?[] _buffers;
    readonly Delegate?[] _outputGetters;
    readonly ValueGetter<ReadOnlyMemory<char>> _readText;
    readonly ValueGetter<ReadOnlyMemory<char>>? _readPair;
    readonly List<string>? _pairs;
    readonly ValueGetter<DataViewRowId> _readId;
    readonly DataViewRowId[] _ids;
    readonly List<string> _texts;
    IReadOnlyList<TResult> _results = [];
    int _count;          // rows in the current batch
    int _slot = -1;      // the current row's index within the batch
    long _position = -1;
    bool _exhausted;

    public BatchedCursor(BatchedTextTransformer<TResult> transformer, DataViewRowCursor input, DataViewSchema schema, bool[] active)
    {
        _transformer = transformer;
        _input = input;
        Schema = schema;
        _active = active;
        _inputCount = input.Schema.Count;
        int capacity = transformer.BatchSize;
        _ids = new DataViewRowId[capacity];
        _texts = new List<string>(capacity);
        _readId = input.GetIdGetter();
        _readText = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[transformer.TextColumnName]);
        if (transformer.PairColumnName is string pair)
        {
            _readPair = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[pair]);
            _pairs = new List<string>(capacity);
        }

        _buffers = new InputColumnBuffer?[_inputCount];
        foreach (var column in input.Schema)
            if (active[column.Index])
                _buffers[column.Index] = InputColumnBuffer.Create(input, column, capacity, CurrentSlot);

        var outputs = transformer.Outputs;
        _outputGetters = new Delegate?[outputs.Count];
        for (int i = 0; i < outputs.Count; i++)
            if (active[_inputCount + i])
                _outputGetters[i] = outputs[i].MakeGetter(CurrentResult);
    }

    public override DataViewSchema Schema { get; }
    public override long Position => _position;
    public override long Batch => _input.Batch;

    public override bool MoveNext()
    {
        if (_exhausted)
            return false;
        if (_slot + 1 >= _count && !ReadBatch())
        {
            _exhausted = true;
            _slot = -1;
            return false;
        }
        _slot++;
        _position++;
        return true;
    }

    /// <summary>Reads the next batch and scores it; false when the input had no row left.</summary>
    bool ReadBatch()
    {
        _count = 0;
        _slot = -1;
        _texts.Clear();
        _pairs?.Clear();
        ReadOnlyMemory<char> text = default;
        while (_count < _ids.Length && _input.MoveNext())
        {
            _readId(ref _ids[_count]);
            foreach (var buffer in _buffers)
                buffer?.Fill(_count);
            _readText(ref text);
            _texts.Add(text.ToString());
            if (_readPair is not null)
            {
                _readPair(ref text);
                _pairs!.Add(text.ToString());
            }
            _count++;
        }
        if (_count == 0)
            return false;
        _results = _transformer.Score(_texts, _pairs);
        return true;
    }

    TResult CurrentResult() => _results[CurrentSlot()];

    int CurrentSlot() => _slot >= 0 ? _slot
        : throw new InvalidOperationException("The cursor is not on a row: call MoveNext first (and only read values while it returns true).");

    public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = _ids[CurrentSlot()];

    public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (!IsColumnActive(column))
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created; pass it in columnsNeeded.");
        var getter = column.Index < _inputCount ? _buffers[column.Index]!.Getter : _outputGetters[column.Index - _inputCount]!;
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' holds {column.Type.RawType.Name} values, not {typeof(TValue).Name}.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _input.Dispose();
        base.Dispose(disposing);
    }
}
