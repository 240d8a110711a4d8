using Microsoft.ML.Peft.MLNet;

namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>Reads text columns of an <see cref="IDataView"/> into memory (training and evaluation sets are small enough).</summary>
internal static class TextColumns
{
    /// <summary>The values of one text column, in row order.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or not text.</exception>
    public static List<string> Read(IDataView data, string column)
    {
        var col = SchemaChecks.CheckTextColumn(data.Schema, column);
        var result = new List<string>();
        using var cursor = data.GetRowCursor(new[] { col });
        var get = cursor.GetGetter<ReadOnlyMemory<char>>(col);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            get(ref value);
            result.Add(value.ToString());
        }
        return result;
    }

    /// <summary>Two text columns side by side (prompt, completion).</summary>
    public static List<(string, string)> ReadPairs(IDataView data, string first, string second)
    {
        var a = SchemaChecks.CheckTextColumn(data.Schema, first, "Prompt");
        var b = SchemaChecks.CheckTextColumn(data.Schema, second, "Completion");
        var result = new List<(string, string)>();
        using var cursor = data.GetRowCursor(new[] { a, b });
        var getA = cursor.GetGetter<ReadOnlyMemory<char>>(a);
        var getB = cursor.GetGetter<ReadOnlyMemory<char>>(b);
        ReadOnlyMemory<char> x = default, y = default;
        while (cursor.MoveNext())
        {
            getA(ref x);
            getB(ref y);
            result.Add((x.ToString(), y.ToString()));
        }
        return result;
    }
}
