using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.Tests.MLNet;

namespace Microsoft.ML.Peft.Tests.TextClassification;

/// <summary>Transform and PredictionEngine on a fitted tiny classifier: batching, odd inputs, concurrency.</summary>
public class ScoringTests(TinyClassifierFixture fixture) : IClassFixture<TinyClassifierFixture>
{
    sealed class Prediction
    {
        public float[] Score { get; set; } = [];
        public string PredictedText { get; set; } = "";
    }

    sealed class NullableRow
    {
        public string Label { get; set; } = "";
        public string? Text { get; set; }
    }

    List<Prediction> Predict(IEnumerable<TextRow> rows)
    {
        var ml = new MLContext(seed: 1);
        return ml.Data.CreateEnumerable<Prediction>(fixture.Fitted.Chain.Transform(ml.Data.LoadFromEnumerable(rows)), reuseRowObject: false).ToList();
    }

    [Fact]
    public void Transform_is_lazy_and_scores_in_batches()
    {
        var (chain, classifier) = fixture.Fitted;
        var ml = new MLContext(seed: 1);
        lock (classifier) // ScoringCalls is shared by the tests of this class
        {
            int before = classifier.ScoringCalls;
            var scored = chain.Transform(ClassifierData.View(ml, 20, seed: 3));
            Assert.Equal(before, classifier.ScoringCalls);
            var rows = ml.Data.CreateEnumerable<Prediction>(scored, reuseRowObject: false).ToList();
            Assert.Equal(20, rows.Count);
            Assert.Equal(before + 3, classifier.ScoringCalls); // batches of 8: 8 + 8 + 4
        }
    }

    [Fact]
    public void Scores_are_probabilities_with_class_names_as_slot_names()
    {
        var ml = new MLContext(seed: 1);
        var scored = fixture.Fitted.Chain.Transform(ClassifierData.View(ml, 5, seed: 3));
        Assert.Equal(["alpha", "beta", "gamma"], fixture.Fitted.Classifier.ClassNames);
        foreach (var p in Predict(ClassifierData.Rows(5, seed: 3)))
        {
            Assert.Equal(3, p.Score.Length);
            Assert.Equal(1.0, p.Score.Sum(), 4);
            Assert.Contains(p.PredictedText, fixture.Fitted.Classifier.ClassNames);
        }
        Microsoft.ML.Data.VBuffer<ReadOnlyMemory<char>> names = default;
        scored.Schema["Score"].Annotations.GetValue("SlotNames", ref names);
        Assert.Equal(["alpha", "beta", "gamma"], names.DenseValues().Select(n => n.ToString()));
    }

    [Fact]
    public void Null_and_empty_texts_are_scored_as_the_empty_text()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { new NullableRow { Text = null }, new NullableRow { Text = "" }, new NullableRow { Text = "w10 w61" } };
        var scored = ml.Data.CreateEnumerable<Prediction>(fixture.Fitted.Chain.Transform(ml.Data.LoadFromEnumerable(rows)), reuseRowObject: false).ToList();
        Assert.Equal(3, scored.Count);
        Assert.Equal(scored[0].Score, scored[1].Score, (a, b) => Math.Abs(a - b) < 1e-5f);
        Assert.All(scored, p => Assert.All(p.Score, s => Assert.True(float.IsFinite(s))));
    }

    [Fact]
    public void Over_long_text_is_truncated_to_MaxLength()
    {
        var words = Enumerable.Range(0, 400).Select(i => $"w{10 + i % 30}").ToArray();
        int kept = fixture.Fitted.Classifier.MaxLength - 2; // [CLS] and [SEP]
        var scored = Predict([new TextRow { Text = string.Join(' ', words) }, new TextRow { Text = string.Join(' ', words.Take(kept)) }]);
        // Same tokens, same batch; rows of one GEMM may still round differently in the last bits.
        Assert.Equal(scored[1].Score, scored[0].Score, (a, b) => Math.Abs(a - b) < 1e-5f);
    }

    [Fact]
    public void A_label_unseen_in_training_is_a_missing_key_and_still_gets_a_prediction()
    {
        var ml = new MLContext(seed: 1);
        var rows = ClassifierData.Rows(6, seed: 6);
        rows[0].Label = "delta"; // MapValueToKey (fitted on alpha/beta/gamma) maps it to key 0, ML.NET's missing value
        var scored = fixture.Fitted.Chain.Transform(ml.Data.LoadFromEnumerable(rows));
        var predictions = ml.Data.CreateEnumerable<Prediction>(scored, reuseRowObject: false).ToList();
        Assert.All(predictions, p => Assert.Contains(p.PredictedText, fixture.Fitted.Classifier.ClassNames));
        Assert.Equal(0u, scored.GetColumn<uint>("Label").First());
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        Assert.InRange(metrics.MicroAccuracy, 0, 1);
    }

    [Fact]
    public void PredictionEngine_gives_the_scores_of_Transform()
    {
        var ml = new MLContext(seed: 1);
        var rows = ClassifierData.Rows(6, seed: 4);
        var engine = ml.Model.CreatePredictionEngine<TextRow, Prediction>(fixture.Fitted.Chain);
        var expected = Predict(rows);
        for (int i = 0; i < rows.Count; i++)
        {
            var p = engine.Predict(rows[i]);
            Assert.Equal(expected[i].PredictedText, p.PredictedText);
            Assert.Equal(expected[i].Score, p.Score, (a, b) => Math.Abs(a - b) < 1e-5f);
        }
    }

    [Fact]
    public void Concurrent_prediction_engines_on_one_model_agree_with_serial_scoring()
    {
        var ml = new MLContext(seed: 1);
        var rows = ClassifierData.Rows(24, seed: 5);
        var serial = Predict(rows);
        var results = new Prediction[4][];
        Parallel.For(0, 4, t =>
        {
            var engine = ml.Model.CreatePredictionEngine<TextRow, Prediction>(fixture.Fitted.Chain);
            results[t] = rows.Select(engine.Predict).ToArray();
        });
        foreach (var result in results)
            for (int i = 0; i < rows.Count; i++)
                Assert.Equal(serial[i].Score, result[i].Score, (a, b) => Math.Abs(a - b) < 1e-5f);
    }
}
