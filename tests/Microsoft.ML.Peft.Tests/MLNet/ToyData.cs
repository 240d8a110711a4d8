using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.MLNet.Toy;

namespace Microsoft.ML.Peft.Tests.MLNet;

/// <summary>One labelled text row, as a user would declare it.</summary>
public sealed class TextRow
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}

/// <summary>What the tests read back from a scored view.</summary>
public sealed class ScoredRow
{
    public float[] Score { get; set; } = [];
    public uint PredictedLabel { get; set; }
}

/// <summary>
/// Deterministic three-class toy corpus: each sentence mixes a few words of its class with shared filler words,
/// so a keyword classifier separates the classes well but not trivially.
/// </summary>
internal static class ToyData
{
    static readonly Dictionary<string, string[]> Words = new()
    {
        ["sports"] = ["goal", "match", "team", "coach", "league", "score", "player"],
        ["tech"] = ["software", "chip", "compiler", "server", "cloud", "code", "robot"],
        ["food"] = ["recipe", "bread", "cheese", "soup", "spice", "oven", "garlic"],
    };
    static readonly string[] Filler = ["the", "a", "today", "new", "great", "with", "and", "very", "is", "it"];

    public static List<TextRow> Rows(int count, int seed)
    {
        var random = new Random(seed);
        var classes = Words.Keys.ToArray();
        var rows = new List<TextRow>(count);
        for (int i = 0; i < count; i++)
        {
            string label = classes[i % classes.Length];
            var words = Enumerable.Range(0, 8).Select(_ => random.NextDouble() < 0.35
                ? Words[label][random.Next(Words[label].Length)]
                : Filler[random.Next(Filler.Length)]);
            rows.Add(new TextRow { Label = label, Text = string.Join(' ', words) + " #" + i.ToString(CultureInfo.InvariantCulture) });
        }
        return rows;
    }

    public static IDataView View(MLContext ml, int count, int seed) => ml.Data.LoadFromEnumerable(Rows(count, seed));

    /// <summary>MapValueToKey("Label") then the toy classifier, fitted on 150 rows.</summary>
    public static (TransformerChain<KeywordClassifierTransformer> Model, KeywordClassifierTransformer Classifier) Fit(MLContext ml, int batchSize = 32)
    {
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(new KeywordClassifierEstimator(batchSize: batchSize));
        var model = pipeline.Fit(View(ml, 150, seed: 1));
        return (model, model.LastTransformer);
    }

    /// <summary>As <see cref="Fit"/>, then MapKeyToValue("PredictedText", "PredictedLabel"): the chain a user saves.</summary>
    public static (ITransformer Model, KeywordClassifierTransformer Classifier) FitWithPredictedText(MLContext ml, int batchSize = 32)
    {
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(new KeywordClassifierEstimator(batchSize: batchSize))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel"));
        var model = pipeline.Fit(View(ml, 150, seed: 1));
        var classifier = model.OfType<TransformerChain<KeywordClassifierTransformer>>().SingleOrDefault()?.LastTransformer
            ?? model.OfType<KeywordClassifierTransformer>().Single();
        return (model, classifier);
    }

    public static List<ScoredRow> Score(MLContext ml, IDataView scored) =>
        ml.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false).ToList();
}
