using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// The tensors of a <see cref="TokenizedBatch"/>, each <c>int64</c> of shape (batch, sequence).
/// The caller owns them; disposing this object disposes all three.
/// </summary>
/// <param name="InputIds">Token ids.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding.</param>
/// <param name="TokenTypeIds">Segment ids.</param>
public sealed record TokenizedTensors(Tensor InputIds, Tensor AttentionMask, Tensor TokenTypeIds) : IDisposable
{
    /// <summary>Disposes the three tensors.</summary>
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
    }
}
