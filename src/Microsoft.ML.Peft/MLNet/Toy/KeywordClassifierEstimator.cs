using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet.Toy;

/// <summary>
/// The estimator of the toy keyword classifier: the pattern our text-classification estimators follow.
/// <see cref="Fit"/> takes the class names from the label's key values (so the label must come from
/// <c>MapValueToKey</c>); <see cref="GetOutputSchema"/> validates the inputs and appends <c>Score</c> and
/// <c>PredictedLabel</c>.
/// </summary>
internal sealed class KeywordClassifierEstimator : IEstimator<KeywordClassifierTransformer>
{
    readonly string _labelColumnName, _textColumnName;
    readonly int _batchSize, _maxKeywords;

    public KeywordClassifierEstimator(string labelColumnName = "Label", string textColumnName = "Text",
        int batchSize = BatchedTextTransformer<float[]>.DefaultBatchSize, int maxKeywords = 64)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(labelColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(textColumnName);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeywords, 1);
        (_labelColumnName, _textColumnName, _batchSize, _maxKeywords) = (labelColumnName, textColumnName, batchSize, maxKeywords);
    }

    public KeywordClassifierTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var label = SchemaChecks.CheckKeyLabelColumn(input.Schema, _labelColumnName);
        var text = SchemaChecks.CheckTextColumn(input.Schema, _textColumnName);
        if (label.Type.RawType != typeof(uint))
            throw new ArgumentOutOfRangeException(nameof(input), $"Label column '{_labelColumnName}' is a {label.Type.RawType.Name} key; this estimator reads UInt32 keys (MapValueToKey's default).");
        string[] classNames = SchemaChecks.ReadKeyValues(label);

        var rows = new List<(string, int)>();
        using (var cursor = input.GetRowCursor([label, text]))
        {
            var getLabel = cursor.GetGetter<uint>(label);
            var getText = cursor.GetGetter<ReadOnlyMemory<char>>(text);
            uint key = 0;
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
            {
                getLabel(ref key);
                getText(ref value);
                if (key != 0) // key 0 is a missing label: nothing to learn from
                    rows.Add((value.ToString(), (int)key - 1));
            }
        }
        if (rows.Count == 0)
            throw new InvalidOperationException($"No training rows with a label in column '{_labelColumnName}'.");
        var model = KeywordModel.Train(rows, classNames.Length, _maxKeywords);
        return new KeywordClassifierTransformer(_textColumnName, _batchSize, classNames, model);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckKeyLabelColumn(inputSchema, _labelColumnName);
        SchemaChecks.CheckTextColumn(inputSchema, _textColumnName);
        return MulticlassOutputColumns.AppendTo(inputSchema);
    }
}
