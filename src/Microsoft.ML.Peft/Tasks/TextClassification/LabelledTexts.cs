using Microsoft.ML.Data;
using Microsoft.ML.Peft.MLNet;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// The training rows of a text classifier, read from an <see cref="IDataView"/> in one cursor pass: the texts, their
/// 0-based class indices, and the class names (the label's key values, in key order).
/// </summary>
internal sealed class LabelledTexts
{
    LabelledTexts(string[] texts, string[]? pairs, long[] labels, string[] classNames)
    {
        Texts = texts;
        Pairs = pairs;
        Labels = labels;
        ClassNames = classNames;
    }

    public string[] Texts { get; }

    /// <summary>The second text of each row (sentence pairs); null when there is no pair column.</summary>
    public string[]? Pairs { get; }

    /// <summary>0-based class index per row (key value minus one).</summary>
    public long[] Labels { get; }

    public string[] ClassNames { get; }

    public int Count => Texts.Length;

    /// <summary>
    /// Reads every row with a label. Rows whose label is missing (key 0, what <c>MapValueToKey</c> gives a value it
    /// has not seen) carry nothing to learn and are skipped; a null text is read as the empty text.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type (the message names it and the fix).</exception>
    /// <exception cref="InvalidOperationException">No labelled rows, or fewer than two distinct classes.</exception>
    public static LabelledTexts Read(IDataView data, string labelColumnName, string textColumnName, string? pairColumnName = null)
    {
        var label = SchemaChecks.CheckKeyLabelColumn(data.Schema, labelColumnName);
        var text = SchemaChecks.CheckTextColumn(data.Schema, textColumnName);
        DataViewSchema.Column? pair = pairColumnName is null ? null : SchemaChecks.CheckTextColumn(data.Schema, pairColumnName, "Second text");
        string[] classNames = SchemaChecks.ReadKeyValues(label);
        var getKey = KeyReader(label);

        var texts = new List<string>();
        var pairs = pair is null ? null : new List<string>();
        var labels = new List<long>();
        using (var cursor = data.GetRowCursor(pair is DataViewSchema.Column p ? [label, text, p] : [label, text]))
        {
            var readKey = getKey(cursor);
            var readText = cursor.GetGetter<ReadOnlyMemory<char>>(text);
            var readPair = pair is DataViewSchema.Column pc ? cursor.GetGetter<ReadOnlyMemory<char>>(pc) : null;
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
            {
                ulong key = readKey();
                if (key == 0) continue;
                if (key > (ulong)classNames.Length)
                    throw new InvalidOperationException($"Label column '{labelColumnName}' holds key {key}, beyond its {classNames.Length} key values.");
                readText(ref value);
                texts.Add(value.ToString());
                if (readPair is not null)
                {
                    readPair(ref value);
                    pairs!.Add(value.ToString());
                }
                labels.Add((long)key - 1);
            }
        }

        if (texts.Count == 0)
            throw new InvalidOperationException(
                $"The training data has no rows with a label in column '{labelColumnName}': it is empty, or every label is missing. " +
                "A text classifier needs labelled examples of at least two classes.");
        var seen = labels.Distinct().Order().ToArray();
        if (seen.Length < 2)
            throw new InvalidOperationException(
                $"Every training row has the same label ('{classNames[seen[0]]}' in column '{labelColumnName}'); a classifier needs examples of at least two classes.");
        return new LabelledTexts(texts.ToArray(), pairs?.ToArray(), labels.ToArray(), classNames);
    }

    /// <summary>Splits off a seeded random <paramref name="fraction"/> of the rows (at least one) for validation.</summary>
    public (LabelledTexts Train, LabelledTexts? Validation) Split(double fraction, int? seed)
    {
        int held = fraction <= 0 ? 0 : Math.Clamp((int)Math.Round(Count * fraction), 1, Count - 1);
        if (held == 0) return (this, null);
        var order = Enumerable.Range(0, Count).ToArray();
        (seed is int s ? new Random(s) : new Random()).Shuffle(order);
        LabelledTexts Take(IEnumerable<int> rows)
        {
            var list = rows.ToArray();
            return new LabelledTexts(list.Select(i => Texts[i]).ToArray(), Pairs is null ? null : list.Select(i => Pairs[i]).ToArray(),
                list.Select(i => Labels[i]).ToArray(), ClassNames);
        }
        return (Take(order.Skip(held)), Take(order.Take(held)));
    }

    // MapValueToKey makes UInt32 keys by default, but a key column may be any unsigned integer type.
    static Func<DataViewRowCursor, Func<ulong>> KeyReader(DataViewSchema.Column column) => column.Type.RawType switch
    {
        var t when t == typeof(uint) => c => Read<uint>(c, column, v => v),
        var t when t == typeof(ulong) => c => Read<ulong>(c, column, v => v),
        var t when t == typeof(ushort) => c => Read<ushort>(c, column, v => v),
        var t when t == typeof(byte) => c => Read<byte>(c, column, v => v),
        var t => throw new ArgumentOutOfRangeException(nameof(column), $"Label column '{column.Name}' is a key of {t.Name}, which is not supported."),
    };

    static Func<ulong> Read<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, ulong> widen)
    {
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () =>
        {
            getter(ref value);
            return widen(value);
        };
    }
}
