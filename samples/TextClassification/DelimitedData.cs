using Microsoft.ML;
using Microsoft.ML.Data;

/// <summary>Loads a CSV or TSV file with a header row as an IDataView of two text columns, <c>Label</c> and <c>Text</c>.</summary>
static class DelimitedData
{
    public static IDataView Load(MLContext ml, string path, string labelColumn, string textColumn)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file not found: {path}", path);
        string header = File.ReadLines(path).FirstOrDefault() ?? throw new InvalidDataException($"{path} is empty.");
        // A tab in the header means TSV; otherwise CSV (with quoted fields).
        char separator = header.Contains('\t') ? '\t' : ',';
        var names = header.Split(separator).Select(n => n.Trim().Trim('"')).ToList();
        int Index(string column) => names.IndexOf(column) is var i and >= 0
            ? i : throw new InvalidDataException($"{path}: no column '{column}' in the header; columns are: {string.Join(", ", names)}.");
        var loader = ml.Data.CreateTextLoader(new TextLoader.Options
        {
            Separators = [separator],
            HasHeader = true,
            AllowQuoting = separator == ',',
            Columns =
            [
                new TextLoader.Column("Label", DataKind.String, Index(labelColumn)),
                new TextLoader.Column("Text", DataKind.String, Index(textColumn)),
            ],
        });
        return loader.Load(path);
    }
}
