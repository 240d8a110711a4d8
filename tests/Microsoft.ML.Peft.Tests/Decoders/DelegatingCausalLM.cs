using Microsoft.ML.Peft.Models;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Decoders;

/// <summary>
/// A decoder that hands everything to <paramref name="inner"/>: the base of the tests' wrappers, which override the
/// forward they change.
/// </summary>
internal abstract class DelegatingCausalLM(ICausalLM inner) : ICausalLM
{
    /// <summary>The wrapped decoder.</summary>
    protected ICausalLM Inner => inner;

    public int VocabSize => inner.VocabSize;
    public int NumLayers => inner.NumLayers;
    public int MaxPositions => inner.MaxPositions;
    public IReadOnlyList<int> EosTokenIds => inner.EosTokenIds;
    public int? PadTokenId => inner.PadTokenId;
    public Device Device => inner.Device;

    public virtual Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null) =>
        inner.forward(inputIds, attentionMask, positionIds, cache);

    public virtual Tensor LastLogits(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null) =>
        inner.LastLogits(inputIds, attentionMask, positionIds, cache);
}
