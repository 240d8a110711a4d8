using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PromptLearning;

/// <summary>
/// A module that produces the (n, width) prompt embeddings of all virtual tokens: prompt tuning's table, P-Tuning's
/// encoder, prefix tuning's (projected) prefix. Registered under the model as <c>prompt_encoder.default</c>.
/// </summary>
public abstract class PromptModule : nn.Module
{
    /// <summary>Creates the module.</summary>
    protected PromptModule(string name) : base(name) { }

    /// <summary>(n, width): one row per virtual token.</summary>
    public abstract Tensor Embeddings();
}
