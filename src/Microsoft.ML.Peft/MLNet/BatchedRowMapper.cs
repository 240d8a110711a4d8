using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// The single-row path of a batched transformer (ML.NET's prediction engine goes through
/// <see cref="IRowToRowMapper"/>): pass-through columns are read from the input row, appended columns score
/// the row as a batch of one, once per input position however many appended columns are read.
/// </summary>
internal sealed class BatchedRowMapper<TResult> : IRowToRowMapper
{
    readonly BatchedTextTransformer<TResult> _transformer;

    public BatchedRowMapper(BatchedTextTransformer<TResult> transformer, DataViewSchema inputSchema, DataViewSchema outputSchema)
    {
        _transformer = transformer;
        InputSchema = inputSchema;
        OutputSchema = outputSchema;
    }

    public DataViewSchema InputSchema { get; }
    public DataViewSchema OutputSchema { get; }

    /// <summary>The input columns needed to produce <paramref name="dependingColumns"/> of the output.</summary>
    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = new HashSet<int>();
        foreach (var column in dependingColumns)
        {
            if (column.Index < InputSchema.Count)
            {
                needed.Add(column.Index);
                continue;
            }
            needed.Add(InputSchema[_transformer.TextColumnName].Index);
            if (_transformer.PairColumnName is string pair) needed.Add(InputSchema[pair].Index);
        }
        return InputSchema.Where(c => needed.Contains(c.Index)).ToList();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        var active = new bool[OutputSchema.Count];
        foreach (var column in activeColumns)
            active[column.Index] = true;
        return new Row(_transformer, input, OutputSchema, active);
    }

    sealed class Row : DataViewRow
    {
        readonly DataViewRow _input;
        readonly bool[] _active;
        readonly Delegate?[] _outputGetters;
        readonly ValueGetter<ReadOnlyMemory<char>>? _readText, _readPair;
        readonly BatchedTextTransformer<TResult> _transformer;
        long _scoredPosition = -1;
        TResult _result = default!;

        public Row(BatchedTextTransformer<TResult> transformer, DataViewRow input, DataViewSchema schema, bool[] active)
        {
            _transformer = transformer;
            _input = input;
            Schema = schema;
            _active = active;
            int inputCount = input.Schema.Count;
            var outputs = transformer.Outputs;
            _outputGetters = new Delegate?[outputs.Count];
            for (int i = 0; i < outputs.Count; i++)
                if (active[inputCount + i])
                    _outputGetters[i] = outputs[i].MakeGetter(Current);
            if (_outputGetters.Any(g => g is not null))
            {
                _readText = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[transformer.TextColumnName]);
                if (transformer.PairColumnName is string pair)
                    _readPair = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[pair]);
            }
        }

        public override DataViewSchema Schema { get; }
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        // The prediction engine moves the same input row to the next example and bumps its position, so the
        // position tells whether the cached result is still this row's.
        TResult Current()
        {
            long position = _input.Position;
            if (position != _scoredPosition || position < 0)
            {
                ReadOnlyMemory<char> text = default;
                _readText!(ref text);
                string first = text.ToString();
                string[]? pair = null;
                if (_readPair is not null)
                {
                    _readPair(ref text);
                    pair = [text.ToString()];
                }
                _result = _transformer.Score([first], pair)[0];
                _scoredPosition = position;
            }
            return _result;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested as an active column of this row.");
            int inputCount = _input.Schema.Count;
            if (column.Index < inputCount)
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            return _outputGetters[column.Index - inputCount] as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds {column.Type.RawType.Name} values, not {typeof(TValue).Name}.");
        }
    }
}
