using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Peft.MLNet.Toy;

namespace Microsoft.ML.Peft.Tests.MLNet;

/// <summary>Schema errors name the column, what was found, and the fix.</summary>
public class SchemaErrorTests
{
    sealed class BodyRow
    {
        public string Label { get; set; } = "";
        public string Body { get; set; } = "";
    }

    sealed class NumericTextRow
    {
        public string Label { get; set; } = "";
        public float Text { get; set; }
    }

    static readonly MLContext Ml = new(seed: 1);
    static IDataView Bodies => Ml.Data.LoadFromEnumerable(new[] { new BodyRow { Label = "a", Body = "x" } });

    [Fact]
    public void Missing_text_column_is_named_with_the_columns_that_exist()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Ml.Transforms.Conversion.MapValueToKey("Label").Append(new KeywordClassifierEstimator(textColumnName: "Text")).Fit(Bodies));
        Assert.Contains("Text column 'Text' not found; columns are: 'Label', 'Body'", error.Message);
    }

    [Fact]
    public void Label_that_is_not_a_key_says_to_add_MapValueToKey()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new KeywordClassifierEstimator(textColumnName: "Body").Fit(Bodies));
        Assert.Contains("Label column 'Label' must be a key", error.Message);
        Assert.Contains("MapValueToKey(\"Label\")", error.Message);

        var shapeError = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new KeywordClassifierEstimator(textColumnName: "Body").GetOutputSchema(SchemaChecks.ShapeOf(Bodies.Schema)));
        Assert.Contains("Label column 'Label' must be a key", shapeError.Message);
    }

    [Fact]
    public void Text_column_of_the_wrong_type_says_what_it_is()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new NumericTextRow { Label = "a", Text = 1 } });
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Ml.Transforms.Conversion.MapValueToKey("Label").Append(new KeywordClassifierEstimator()).Fit(data));
        Assert.Contains("Text column 'Text' must be a single text value (String) per row, but it is Single", error.Message);
    }

    [Fact]
    public void Transform_and_the_estimator_shape_check_the_text_column_too()
    {
        var (_, classifier) = ToyData.Fit(Ml);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => { classifier.Transform(Bodies); });
        Assert.Contains("Text column 'Text' not found", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => { classifier.GetOutputSchema(Bodies.Schema); });

        var shape = SchemaChecks.ShapeOf(Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Bodies).Transform(Bodies).Schema);
        var shapeError = Assert.Throws<ArgumentOutOfRangeException>(() => new KeywordClassifierEstimator().GetOutputSchema(shape));
        Assert.Contains("Text column 'Text' not found; columns are:", shapeError.Message);
    }

    [Fact]
    public void Missing_label_is_named()
    {
        var data = Ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "x" } });
        var noLabel = Ml.Transforms.DropColumns("Label").Fit(data).Transform(data);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new KeywordClassifierEstimator().Fit(noLabel));
        Assert.Contains("Label column 'Label' not found; columns are: 'Text'", error.Message);
    }
}
