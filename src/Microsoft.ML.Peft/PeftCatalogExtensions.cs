using Microsoft.ML.Peft;

namespace Microsoft.ML;

/// <summary>Adds <c>mlContext.Peft()</c>, the entry point to the parameter-efficient fine-tuning estimators.</summary>
public static class PeftCatalogExtensions
{
    /// <summary>The PEFT estimators of <paramref name="context"/> (text classifiers with LoRA, IA3, prompt tuning, ...).</summary>
    /// <example><code>
    /// var model = PretrainedModel.FromDirectory("models/all-MiniLM-L6-v2");
    /// var estimator = mlContext.Peft().LoraTextClassifier(model, rank: 8, alpha: 16);
    /// </code></example>
    public static PeftCatalog Peft(this MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new PeftCatalog(context);
    }
}
