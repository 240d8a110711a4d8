namespace Microsoft.ML.Peft.CudaProbe;

/// <summary>One ML.NET input row of the classifier step (public: ML.NET reads it by reflection).</summary>
public sealed class TextRow
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}

internal static class ClassifierData
{
    // Separable synthetic texts in the tiny BERT vocabulary (w0..w93), as the tests' ClassifierData.
    public static List<TextRow> Rows(int count, int seed)
    {
        string[] classes = ["alpha", "beta", "gamma"];
        string[] filler = Enumerable.Range(60, 12).Select(i => $"w{i}").ToArray();
        var random = new Random(seed);
        var rows = new List<TextRow>(count);
        for (int i = 0; i < count; i++)
        {
            int c = i % 3;
            var own = Enumerable.Range(10 + 10 * c, 8).Select(j => $"w{j}").ToArray();
            var words = Enumerable.Range(0, 6).Select(j => j % 2 == 0 ? own[random.Next(own.Length)] : filler[random.Next(filler.Length)]);
            rows.Add(new TextRow { Label = classes[c], Text = string.Join(' ', words) });
        }
        return rows;
    }
}
