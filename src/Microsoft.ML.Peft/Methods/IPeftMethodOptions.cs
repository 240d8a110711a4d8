using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods;

/// <summary>
/// A PEFT method as data (design principle 6): an options object that knows its PEFT type and how to inject itself
/// into a model. Estimators take one of these and never branch on the method.
/// </summary>
/// <example><code>
/// IPeftMethodOptions method = new PromptTuningOptions { NumVirtualTokens = 20 };
/// IPeftModel peft = method.Apply(classifier);
/// var optimizer = torch.optim.AdamW(peft.TrainableParameterList(), 1e-3);
/// </code></example>
public interface IPeftMethodOptions
{
    /// <summary>The <c>peft_type</c> written to <c>adapter_config.json</c>, e.g. <c>LORA</c>, <c>PROMPT_TUNING</c>, <c>IA3</c>.</summary>
    string PeftType { get; }

    /// <summary>Injects the method into <paramref name="model"/> (in place) and freezes what the method does not train.</summary>
    /// <param name="model">The base model (a <c>BertModel</c>, a sequence classifier, ...); it stays owned by the caller.</param>
    IPeftModel Apply(nn.Module model);
}
