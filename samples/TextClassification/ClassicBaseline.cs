using Microsoft.ML;
using Microsoft.ML.Data;

/// <summary>ML.NET's classic text classifier, the bar to beat: n-gram features (FeaturizeText) and a linear SDCA maximum-entropy model.</summary>
static class ClassicBaseline
{
    public static MulticlassClassificationMetrics Evaluate(MLContext ml, IDataView train, IDataView test)
    {
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Text.FeaturizeText("Features", "Text"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy());
        var model = pipeline.Fit(train);
        return ml.MulticlassClassification.Evaluate(model.Transform(test));
    }
}
