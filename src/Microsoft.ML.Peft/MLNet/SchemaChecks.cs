using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// Input-column checks shared by our estimators and transformers. Each message names the column, says what
/// was found, and says how to fix it, because a schema error is usually the first thing a new user meets.
/// Errors are <see cref="ArgumentOutOfRangeException"/> on the schema argument, as ML.NET's own transforms throw.
/// </summary>
public static class SchemaChecks
{
    /// <summary>Checks that <paramref name="schema"/> has a text (string) column named <paramref name="name"/>; returns it.</summary>
    public static DataViewSchema.Column CheckTextColumn(DataViewSchema schema, string name, string role = "Text")
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.GetColumnOrNull(name)
            ?? throw Mismatch(nameof(schema), $"{role} column '{name}' not found; columns are: {List(schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        if (column.Type is not TextDataViewType)
            throw Mismatch(nameof(schema), $"{role} column '{name}' must be a single text value (String) per row, but it is {column.Type}; " +
                "convert it (for example mlContext.Transforms.Conversion.ConvertType) or name a text column.");
        return column;
    }

    /// <summary>Checks the text column of an estimator's input shape.</summary>
    public static SchemaShape.Column CheckTextColumn(SchemaShape shape, string name, string role = "Text")
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!shape.TryFindColumn(name, out var column))
            throw Mismatch(nameof(shape), $"{role} column '{name}' not found; columns are: {List(shape.Select(c => c.Name))}.");
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not TextDataViewType)
            throw Mismatch(nameof(shape), $"{role} column '{name}' must be a single text value (String) per row, but it is {Describe(column)}; " +
                "convert it (for example mlContext.Transforms.Conversion.ConvertType) or name a text column.");
        return column;
    }

    /// <summary>
    /// Checks that <paramref name="name"/> is a key column whose key values are text (what <c>MapValueToKey</c>
    /// makes of a string label); returns it.
    /// </summary>
    public static DataViewSchema.Column CheckKeyLabelColumn(DataViewSchema schema, string name)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.GetColumnOrNull(name)
            ?? throw Mismatch(nameof(schema), $"Label column '{name}' not found; columns are: {List(schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        if (column.Type is not KeyDataViewType)
            throw Mismatch(nameof(schema), NotAKey(name, $"{column.Type}"));
        var keyValues = column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues);
        if (keyValues is null || keyValues.Value.Type is not VectorDataViewType { ItemType: TextDataViewType })
            throw Mismatch(nameof(schema), NoKeyValues(name));
        return column;
    }

    /// <summary>The estimator-side version of <see cref="CheckKeyLabelColumn(DataViewSchema, string)"/>.</summary>
    public static SchemaShape.Column CheckKeyLabelColumn(SchemaShape shape, string name)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!shape.TryFindColumn(name, out var column))
            throw Mismatch(nameof(shape), $"Label column '{name}' not found; columns are: {List(shape.Select(c => c.Name))}.");
        if (!column.IsKey)
            throw Mismatch(nameof(shape), NotAKey(name, Describe(column)));
        if (!column.Annotations.TryFindColumn(AnnotationUtils.Kinds.KeyValues, out var keyValues) || keyValues.ItemType is not TextDataViewType)
            throw Mismatch(nameof(shape), NoKeyValues(name));
        return column;
    }

    /// <summary>Reads the class names (text key values) of a key label column, in key order.</summary>
    public static string[] ReadKeyValues(DataViewSchema.Column keyColumn)
    {
        VBuffer<ReadOnlyMemory<char>> values = default;
        keyColumn.Annotations.GetValue(AnnotationUtils.Kinds.KeyValues, ref values);
        return values.DenseValues().Select(v => v.ToString()).ToArray();
    }

    /// <summary>The estimator-side shape of <paramref name="schema"/> (ML.NET keeps <c>SchemaShape.Create</c> internal).</summary>
    internal static SchemaShape ShapeOf(DataViewSchema schema) => SchemaShape.Create(schema);

    static string NotAKey(string name, string found) =>
        $"Label column '{name}' must be a key, but it is {found}; add mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") before this estimator.";

    static string NoKeyValues(string name) =>
        $"Label column '{name}' is a key without text key values, so predictions could not be mapped back to class names; " +
        $"make it with mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") from a text label.";

    static string Describe(SchemaShape.Column column) =>
        (column.IsKey ? "a key" : column.ItemType.ToString()) + column.Kind switch
        {
            SchemaShape.Column.VectorKind.Vector => " vector",
            SchemaShape.Column.VectorKind.VariableVector => " variable-length vector",
            _ => "",
        };

    static string List(IEnumerable<string> names) => string.Join(", ", names.Distinct().Select(n => $"'{n}'"));

    static ArgumentOutOfRangeException Mismatch(string parameter, string message) => new(parameter, message);
}
