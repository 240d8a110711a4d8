using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Peft.Tests.MLNet;

namespace Microsoft.ML.Peft.Tests.TextClassification;

/// <summary>
/// Separable synthetic texts in the tiny BERT vocabulary (words w0..w93): each class draws half its words from its own
/// eight, the rest from shared filler, so a fine-tuned tiny model can separate the classes but must learn to.
/// </summary>
internal static class ClassifierData
{
    static readonly string[] Classes = ["alpha", "beta", "gamma"];

    static string[] ClassWords(int c) => Enumerable.Range(10 + 10 * c, 8).Select(i => $"w{i}").ToArray();

    static readonly string[] Filler = Enumerable.Range(60, 12).Select(i => $"w{i}").ToArray();

    public static List<TextRow> Rows(int count, int seed, int classes = 3)
    {
        var random = new Random(seed);
        var rows = new List<TextRow>(count);
        for (int i = 0; i < count; i++)
        {
            int c = i % classes;
            var own = ClassWords(c);
            var words = Enumerable.Range(0, 6).Select(j => j % 2 == 0 ? own[random.Next(own.Length)] : Filler[random.Next(Filler.Length)]);
            rows.Add(new TextRow { Label = Classes[c], Text = string.Join(' ', words) });
        }
        return rows;
    }

    public static IDataView View(MLContext ml, int count, int seed, int classes = 3) => ml.Data.LoadFromEnumerable(Rows(count, seed, classes));

    /// <summary>A text of <paramref name="words"/> words of class 0 (far beyond any max length when large).</summary>
    public static string LongText(int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(i => ClassWords(0)[i % 8] + (i % 3 == 0 ? " " + Filler[i % 12] : "")));

    public static string Describe(IEnumerable<float> scores) => string.Join(" ", scores.Select(s => s.ToString("R", CultureInfo.InvariantCulture)));
}
