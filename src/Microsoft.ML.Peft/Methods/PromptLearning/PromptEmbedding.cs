using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PromptLearning;

/// <summary>
/// A plain trainable table <c>embedding.weight</c> (n, width): prompt tuning's prompt, prefix tuning without
/// projection, and what every prompt method becomes when loaded from a file (PEFT's inference-mode encoders).
/// </summary>
public sealed class PromptEmbedding : PromptModule
{
    readonly TorchSharp.Modules.Embedding embedding;

    /// <summary>Creates the table, drawn from N(0, 1) as <c>nn.Embedding</c> does (PEFT's random init).</summary>
    public PromptEmbedding(long numVirtualTokens, long width, Device? device = null, ScalarType? dtype = null) : base("PromptEmbedding")
    {
        embedding = nn.Embedding(numVirtualTokens, width, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The (n, width) table.</summary>
    public TorchSharp.Modules.Parameter Weight => embedding.weight!;

    /// <inheritdoc/>
    public override Tensor Embeddings() => embedding.weight!;
}
