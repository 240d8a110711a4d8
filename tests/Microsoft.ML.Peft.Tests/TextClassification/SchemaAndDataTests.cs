using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.Tasks.TextClassification;
using Microsoft.ML.Peft.Tests.MLNet;

namespace Microsoft.ML.Peft.Tests.TextClassification;

/// <summary>Wrong columns and unusable training sets fail before any training, with messages that name the column and the fix.</summary>
public class SchemaAndDataTests(TinyClassifierFixture fixture) : IClassFixture<TinyClassifierFixture>
{
    sealed class NumericText
    {
        public string Label { get; set; } = "";
        public float Text { get; set; }
    }

    PeftTextClassificationEstimator Estimator(MLContext ml, int epochs = 1) =>
        ml.Peft().TextClassifier(fixture.Model, TinyClassifierFixture.Options(epochs: epochs));

    [Fact]
    public void A_string_label_is_rejected_with_the_MapValueToKey_fix()
    {
        var ml = new MLContext(seed: 1);
        var data = ClassifierData.View(ml, 6, seed: 1);
        var shapeError = Assert.Throws<ArgumentOutOfRangeException>(() => Estimator(ml).GetOutputSchema(Microsoft.ML.Peft.MLNet.SchemaChecks.ShapeOf(data.Schema)));
        var fitError = Assert.Throws<ArgumentOutOfRangeException>(() => Estimator(ml).Fit(data));
        foreach (var e in new[] { shapeError, fitError })
        {
            Assert.Contains("'Label'", e.Message);
            Assert.Contains("must be a key", e.Message);
            Assert.Contains("MapValueToKey(\"Label\")", e.Message);
        }
    }

    [Fact]
    public void A_numeric_text_column_is_rejected_naming_it()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new NumericText { Label = "a", Text = 1 } });
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(Estimator(ml));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.GetOutputSchema(Microsoft.ML.Peft.MLNet.SchemaChecks.ShapeOf(data.Schema)));
        Assert.Contains("Text column 'Text'", e.Message);
        Assert.Contains("ConvertType", e.Message);
    }

    [Fact]
    public void A_missing_column_lists_the_columns_there_are()
    {
        var ml = new MLContext(seed: 1);
        var options = TinyClassifierFixture.Options();
        options.TextColumnName = "Body";
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Peft().TextClassifier(fixture.Model, options));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.GetOutputSchema(Microsoft.ML.Peft.MLNet.SchemaChecks.ShapeOf(ClassifierData.View(ml, 3, 1).Schema)));
        Assert.Contains("'Body' not found", e.Message);
        Assert.Contains("'Text'", e.Message);
    }

    [Fact]
    public void An_empty_training_set_fails_clearly()
    {
        var ml = new MLContext(seed: 1);
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ClassifierData.View(ml, 6, seed: 1));
        var empty = keys.Transform(ml.Data.LoadFromEnumerable(new List<TextRow>()));
        var e = Assert.Throws<InvalidOperationException>(() => Estimator(ml).Fit(empty));
        Assert.Contains("no rows with a label", e.Message);
    }

    [Fact]
    public void A_single_class_training_set_fails_clearly()
    {
        var ml = new MLContext(seed: 1);
        var rows = ClassifierData.Rows(9, seed: 1, classes: 1);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(Estimator(ml));
        var e = Assert.Throws<InvalidOperationException>(() => pipeline.Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("same label ('alpha'", e.Message);
        Assert.Contains("at least two classes", e.Message);
    }

    [Fact]
    public void Options_are_validated_when_the_estimator_is_made()
    {
        var ml = new MLContext(seed: 1);
        var noMethod = TinyClassifierFixture.Options();
        noMethod.Method = null;
        Assert.Contains("Method", Assert.Throws<ArgumentException>(() => ml.Peft().TextClassifier(fixture.Model, noMethod)).Message);
        var tooLong = TinyClassifierFixture.Options();
        tooLong.MaxLength = 65;
        Assert.Contains("max_position_embeddings 64", Assert.Throws<ArgumentException>(() => ml.Peft().TextClassifier(fixture.Model, tooLong)).Message);
    }
}
