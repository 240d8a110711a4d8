using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.Tests.Checkpoints;

namespace Microsoft.ML.Peft.Tests.TextClassification;

/// <summary>An optional second text column: encoded as a sentence pair, read by Transform, PredictionEngine and a reloaded model.</summary>
// Serial, like the trainer's tests: torch's generator is process-wide, and the accuracy checks need the seeded init.
[Collection(Microsoft.ML.Peft.Tests.Training.TrainingCollection.Name)]
public class SentencePairTests(TinyClassifierFixture fixture) : IClassFixture<TinyClassifierFixture>
{
    public sealed class PairRow
    {
        public string Label { get; set; } = "";
        public string Text { get; set; } = "";
        public string Pair { get; set; } = "";
    }

    sealed class Prediction
    {
        public float[] Score { get; set; } = [];
        public string PredictedText { get; set; } = "";
    }

    // The first text is the same filler for every class; only the second carries the class, so learning proves it is read.
    static List<PairRow> Rows(int count, int seed) =>
        ClassifierData.Rows(count, seed).Select((r, i) => new PairRow { Label = r.Label, Text = "w60 w61 w62", Pair = r.Text }).ToList();

    [Fact]
    public void A_pair_column_is_learned_scored_and_saved()
    {
        var ml = new MLContext(seed: 1);
        var options = TinyClassifierFixture.Options();
        options.PairColumnName = "Pair";
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Peft().TextClassifier(fixture.Model, options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel"));
        var model = pipeline.Fit(ml.Data.LoadFromEnumerable(Rows(60, seed: 1)));
        using var classifier = TinyClassifierFixture.FindClassifier(model);
        Assert.Equal("Pair", classifier.PairColumnName);

        var test = Rows(30, seed: 1);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(test)));
        Assert.True(metrics.MicroAccuracy > 0.7, $"accuracy {metrics.MicroAccuracy:F3}: the class is only in the pair column");

        List<string> Lines(ITransformer m) => ml.Data.CreateEnumerable<Prediction>(m.Transform(ml.Data.LoadFromEnumerable(test)), reuseRowObject: false)
            .Select(p => p.PredictedText + " " + string.Join(" ", p.Score.Select(s => s.ToString("R", CultureInfo.InvariantCulture)))).ToList();
        using var folder = new TempFolder();
        ml.Model.Save(model, ml.Data.LoadFromEnumerable(test).Schema, folder.File("pair.zip"));
        var loaded = new MLContext().Model.Load(folder.File("pair.zip"), out _);
        using var reloaded = TinyClassifierFixture.FindClassifier(loaded);
        Assert.Equal("Pair", reloaded.PairColumnName);
        Assert.Equal(Lines(model), Lines(loaded));

        var engine = ml.Model.CreatePredictionEngine<PairRow, Prediction>(loaded);
        var batchScores = ml.Data.CreateEnumerable<Prediction>(loaded.Transform(ml.Data.LoadFromEnumerable(test.Take(3))), reuseRowObject: false).ToList();
        for (int i = 0; i < 3; i++)
            Assert.Equal(batchScores[i].Score, engine.Predict(test[i]).Score, (a, b) => Math.Abs(a - b) < 1e-5f);
    }

    [Fact]
    public void A_missing_pair_column_is_named()
    {
        var ml = new MLContext(seed: 1);
        var options = TinyClassifierFixture.Options();
        options.PairColumnName = "Hypothesis";
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Peft().TextClassifier(fixture.Model, options));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            pipeline.GetOutputSchema(Microsoft.ML.Peft.MLNet.SchemaChecks.ShapeOf(ml.Data.LoadFromEnumerable(Rows(3, 1)).Schema)));
        Assert.Contains("Second text column 'Hypothesis' not found", e.Message);
    }
}
