using Microsoft.ML;
using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.Tests.MLNet;

/// <summary>Transform is lazy (nothing is scored until a cursor moves) and batched (one scorer call per batch).</summary>
public class BatchedTransformTests
{
    [Fact]
    public void Transform_scores_nothing_until_a_cursor_moves()
    {
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.Fit(ml);
        int before = classifier.ScoringCalls;

        var scored = model.Transform(ToyData.View(ml, 100, seed: 2));
        _ = scored.Schema;
        _ = scored.GetRowCount();
        using (var cursor = scored.GetRowCursor(scored.Schema))
            Assert.Equal(before, classifier.ScoringCalls); // a cursor that has not moved has scored nothing

        using (var cursor = scored.GetRowCursor(scored.Schema))
        {
            Assert.True(cursor.MoveNext());
            Assert.Equal(before + 1, classifier.ScoringCalls); // the first move scores the first batch only
        }
    }

    [Theory]
    [InlineData(100, 32)]
    [InlineData(64, 32)]
    [InlineData(5, 32)]
    [InlineData(7, 1)]
    public void N_rows_take_ceil_N_over_batch_scorer_calls(int rows, int batchSize)
    {
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.Fit(ml, batchSize);
        int calls = classifier.ScoringCalls, scoredRows = classifier.ScoredRows;

        var scores = ToyData.Score(ml, model.Transform(ToyData.View(ml, rows, seed: 2)));

        Assert.Equal(rows, scores.Count);
        Assert.Equal((rows + batchSize - 1) / batchSize, classifier.ScoringCalls - calls);
        Assert.Equal(rows, classifier.ScoredRows - scoredRows);
    }

    [Fact]
    public void Batched_scores_equal_one_row_at_a_time_scores()
    {
        var ml = new MLContext(seed: 1);
        var batched = ToyData.Score(ml, ToyData.Fit(ml, batchSize: 16).Model.Transform(ToyData.View(ml, 50, seed: 2)));
        var single = ToyData.Score(ml, ToyData.Fit(ml, batchSize: 1).Model.Transform(ToyData.View(ml, 50, seed: 2)));
        Assert.Equal(single.Select(r => r.Score), batched.Select(r => r.Score));
        Assert.Equal(single.Select(r => r.PredictedLabel), batched.Select(r => r.PredictedLabel));
    }

    [Fact]
    public void Cursors_over_pass_through_columns_only_never_score_and_keep_the_values()
    {
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.Fit(ml);
        var input = ToyData.Rows(40, seed: 2);
        int calls = classifier.ScoringCalls;

        var scored = model.Transform(ml.Data.LoadFromEnumerable(input));
        var texts = scored.GetColumn<string>("Text").ToList();

        Assert.Equal(calls, classifier.ScoringCalls);
        Assert.Equal(input.Select(r => r.Text), texts);
    }

    [Fact]
    public void Pass_through_values_stay_aligned_with_their_scores_across_batch_boundaries()
    {
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.Fit(ml, batchSize: 8);
        var input = ToyData.Rows(37, seed: 2);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(input));

        using var cursor = scored.GetRowCursor([scored.Schema["Text"], scored.Schema["Score"]]);
        Assert.False(cursor.IsColumnActive(scored.Schema["PredictedLabel"]));
        var getText = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["Text"]);
        var getScore = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        var getId = cursor.GetIdGetter();
        ReadOnlyMemory<char> text = default;
        VBuffer<float> score = default;
        DataViewRowId id = default, previous = default;
        int row = 0;
        while (cursor.MoveNext())
        {
            Assert.Equal(row, cursor.Position);
            getText(ref text);
            getScore(ref score);
            getId(ref id);
            Assert.Equal(input[row].Text, text.ToString());
            Assert.Equal(Expected(classifier, input[row].Text), score.DenseValues());
            if (row > 0) Assert.NotEqual(previous, id);
            previous = id;
            row++;
        }
        Assert.Equal(input.Count, row);
        Assert.False(cursor.MoveNext());
        Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<float>(scored.Schema["PredictedLabel"]));
    }

    static float[] Expected(Microsoft.ML.Peft.MLNet.Toy.KeywordClassifierTransformer classifier, string text)
    {
        var ml = new MLContext();
        var one = classifier.Transform(ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = text } }));
        return one.GetColumn<float[]>("Score").Single();
    }

    [Fact]
    public void Row_count_is_the_input_row_count_and_needs_no_scoring()
    {
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.Fit(ml);
        int calls = classifier.ScoringCalls;
        var scored = model.Transform(ToyData.View(ml, 77, seed: 2));
        Assert.Equal(77L, scored.GetRowCount());
        Assert.Equal(calls, classifier.ScoringCalls);
    }

    [Fact]
    public void Works_over_shuffled_and_cached_input()
    {
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.Fit(ml, batchSize: 8);
        var input = ToyData.View(ml, 60, seed: 2);
        var expected = ml.Data.CreateEnumerable<TextRow>(input, false).ToDictionary(r => r.Text, r => Expected(classifier, r.Text));

        var shuffled = ml.Data.Cache(ml.Data.ShuffleRows(input, seed: 5));
        var scored = model.Transform(shuffled);
        var rows = scored.GetColumn<string>("Text").Zip(scored.GetColumn<float[]>("Score")).ToList();

        Assert.Equal(60, rows.Count);
        Assert.NotEqual(expected.Keys, rows.Select(r => r.First)); // really shuffled
        Assert.All(rows, r => Assert.Equal(expected[r.First], r.Second));

        // Caching the scored view reads it once; later passes come from the cache, not the scorer.
        var cached = ml.Data.Cache(model.Transform(input));
        _ = cached.GetColumn<float[]>("Score").ToList();
        int calls = classifier.ScoringCalls;
        _ = cached.GetColumn<float[]>("Score").ToList();
        Assert.Equal(calls, classifier.ScoringCalls);
    }
}
