using Microsoft.ML;

namespace Microsoft.ML.Peft.Tests.MLNet;

/// <summary>
/// The single-row path (PredictionEngine) and concurrent use. A model instance may be used from several threads
/// at once; its batch scorer must be stateless or locked (the toy one is stateless).
/// </summary>
public class PredictionAndThreadingTests
{
    sealed class Prediction
    {
        public float[] Score { get; set; } = [];
        public uint PredictedLabel { get; set; }
        public string PredictedText { get; set; } = "";
    }

    [Fact]
    public void PredictionEngine_matches_the_batched_transform_row_by_row()
    {
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.FitWithPredictedText(ml);
        var test = ToyData.Rows(12, seed: 9);
        var batched = ml.Data.CreateEnumerable<Prediction>(model.Transform(ml.Data.LoadFromEnumerable(test)), false).ToList();

        using var engine = ml.Model.CreatePredictionEngine<TextRow, Prediction>(model);
        int calls = classifier.ScoringCalls;
        for (int i = 0; i < test.Count; i++)
        {
            var single = engine.Predict(test[i]);
            Assert.Equal(batched[i].Score, single.Score);
            Assert.Equal(batched[i].PredictedLabel, single.PredictedLabel);
            Assert.Equal(batched[i].PredictedText, single.PredictedText);
        }
        // One scoring call per prediction, though Score, PredictedLabel and PredictedText are all read.
        Assert.Equal(test.Count, classifier.ScoringCalls - calls);
    }

    [Fact]
    public void PredictionEngine_works_on_a_reloaded_model()
    {
        using var folder = new Microsoft.ML.Peft.Tests.Checkpoints.TempFolder();
        var ml = new MLContext(seed: 1);
        var (model, _) = ToyData.FitWithPredictedText(ml);
        string path = Path.Combine(folder.Path, "model.zip");
        ml.Model.Save(model, ToyData.View(ml, 1, 0).Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);

        var row = new TextRow { Text = "the compiler and the cloud server" };
        var expected = ml.Model.CreatePredictionEngine<TextRow, Prediction>(model).Predict(row);
        var actual = new MLContext().Model.CreatePredictionEngine<TextRow, Prediction>(loaded).Predict(row);
        Assert.Equal("tech", actual.PredictedText);
        Assert.Equal(expected.Score, actual.Score);
    }

    [Fact]
    public async Task Concurrent_transforms_of_one_model_give_the_same_results()
    {
        var ml = new MLContext(seed: 1);
        var (model, _) = ToyData.Fit(ml, batchSize: 7);
        var input = ToyData.View(ml, 200, seed: 10);
        var expected = ToyData.Score(ml, model.Transform(input));

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => ToyData.Score(ml, model.Transform(input)))));

        foreach (var run in runs)
        {
            Assert.Equal(expected.Select(r => r.Score), run.Select(r => r.Score));
            Assert.Equal(expected.Select(r => r.PredictedLabel), run.Select(r => r.PredictedLabel));
        }
    }
}
