using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Peft.MLNet.Toy;

namespace Microsoft.ML.Peft.Tests.MLNet;

/// <summary>The toy classifier inside an ordinary ML.NET pipeline: the conventions the real classifiers must meet.</summary>
public class KeywordClassifierPipelineTests
{
    [Fact]
    public void Evaluate_gives_sensible_multiclass_metrics()
    {
        var ml = new MLContext(seed: 1);
        var (model, _) = ToyData.Fit(ml);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ToyData.View(ml, 90, seed: 2)));

        Assert.True(metrics.MacroAccuracy > 0.8, $"macro accuracy {metrics.MacroAccuracy}");
        Assert.True(metrics.LogLoss < 0.8, $"log loss {metrics.LogLoss}");
        Assert.Equal(3, metrics.PerClassLogLoss.Count);
        Assert.Equal(3, metrics.ConfusionMatrix.NumberOfClasses);
    }

    [Fact]
    public void MapKeyToValue_turns_PredictedLabel_back_into_the_original_strings()
    {
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.FitWithPredictedText(ml);
        var test = ToyData.Rows(30, seed: 3);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(test));

        var predicted = scored.GetColumn<string>("PredictedText").ToList();
        Assert.Equal(test.Count, predicted.Count);
        Assert.All(predicted, p => Assert.Contains(p, new[] { "sports", "tech", "food" }));
        Assert.True(predicted.Zip(test).Count(p => p.First == p.Second.Label) >= 24);
        Assert.Equal(["sports", "tech", "food"], classifier.ClassNames); // MapValueToKey's order of first appearance
    }

    [Fact]
    public void Output_schema_follows_the_multiclass_conventions()
    {
        var ml = new MLContext(seed: 1);
        var (model, _) = ToyData.Fit(ml);
        var schema = model.Transform(ToyData.View(ml, 3, seed: 4)).Schema;

        Assert.Equal(["Label", "Text", "Score", "PredictedLabel"], schema.Where(c => !c.IsHidden).Select(c => c.Name));
        var score = schema["Score"];
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), score.Type);
        VBuffer<ReadOnlyMemory<char>> names = default;
        score.GetSlotNames(ref names);
        Assert.Equal(["sports", "tech", "food"], names.DenseValues().Select(n => n.ToString()));

        var predicted = schema["PredictedLabel"];
        Assert.Equal(3UL, Assert.IsType<KeyDataViewType>(predicted.Type).Count);
        predicted.GetKeyValues(ref names);
        Assert.Equal(["sports", "tech", "food"], names.DenseValues().Select(n => n.ToString()));
    }

    [Fact]
    public void Estimator_output_shape_appends_Score_and_a_key_PredictedLabel()
    {
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(new KeywordClassifierEstimator());
        var shape = pipeline.GetOutputSchema(SchemaChecks.ShapeOf(ToyData.View(ml, 3, seed: 1).Schema));

        var score = shape.Single(c => c.Name == "Score");
        Assert.Equal(SchemaShape.Column.VectorKind.Vector, score.Kind);
        Assert.Equal(NumberDataViewType.Single, score.ItemType);
        var predicted = shape.Single(c => c.Name == "PredictedLabel");
        Assert.True(predicted.IsKey);
        Assert.Contains(predicted.Annotations, c => c.Name == "KeyValues");
        Assert.Contains(shape, c => c.Name == "Text");
    }
}
