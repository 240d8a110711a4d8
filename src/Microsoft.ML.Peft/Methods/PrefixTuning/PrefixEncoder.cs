using Microsoft.ML.Peft.Methods.PromptLearning;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PrefixTuning;

/// <summary>
/// Prefix tuning's reparameterisation (<c>prefix_projection</c>): a trainable table <c>embedding</c> (P, hidden) through
/// <c>transform</c> = Linear(hidden, h), tanh, Linear(h, layers x 2 x hidden). Output (P, layers x 2 x hidden): per
/// virtual token, the keys and values of every layer. Names as PEFT's <c>PrefixEncoder</c>.
/// </summary>
public sealed class PrefixEncoder : PromptModule
{
    readonly Embedding embedding;
    readonly Sequential transform;

    /// <summary>Creates the projection for a model of width <paramref name="hidden"/> with <paramref name="layers"/> blocks.</summary>
    public PrefixEncoder(int numVirtualTokens, long hidden, int layers, long encoderHidden, Device? device = null, ScalarType? dtype = null)
        : base("PrefixEncoder")
    {
        embedding = nn.Embedding(numVirtualTokens, hidden, device: device, dtype: dtype);
        transform = nn.Sequential(nn.Linear(hidden, encoderHidden, device: device, dtype: dtype), nn.Tanh(),
                                  nn.Linear(encoderHidden, layers * 2 * hidden, device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor Embeddings() => transform.call(embedding.weight!);  // (P, layers * 2 * hidden)
}
