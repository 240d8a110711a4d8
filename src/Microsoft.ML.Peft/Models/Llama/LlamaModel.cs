using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>
/// The LLaMA-family decoder without a head. HF names (under <c>model.</c> in <see cref="LlamaForCausalLM"/>):
/// <c>embed_tokens</c>, <c>layers.{i}</c>, <c>norm</c>.
/// </summary>
public sealed class LlamaModel : nn.Module
{
    readonly Embedding embed_tokens;
    readonly ModuleList<LlamaDecoderLayer> layers;
    readonly RmsNorm norm;
    readonly RotaryEmbedding rotary;

    /// <summary>Creates a randomly initialised decoder (Hugging Face's initialisation) for <paramref name="config"/>.</summary>
    public LlamaModel(LlamaConfig config) : base("model")
    {
        config.Validate();
        Config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new LlamaDecoderLayer(config, i)).ToArray());
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, "norm");
        rotary = new RotaryEmbedding(config.HeadDim, config.RotaryBase, config.RotaryScaling, config.MaxPositionEmbeddings);
        RegisterComponents();
        LlamaInitialization.Apply(this, config.InitializerRange);
    }

    /// <summary>The architecture.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The token embedding, <c>[vocab, hidden]</c>; also the output head when tied.</summary>
    public Embedding EmbedTokens => embed_tokens;

    /// <summary>The layers.</summary>
    public IReadOnlyList<LlamaDecoderLayer> Layers => layers.ToList();

    /// <summary>Runs the layers on new tokens.</summary>
    /// <param name="inputIds">(B, T) int64 ids.</param>
    /// <param name="attentionMask">(B, past + T) 0/1 mask, or null.</param>
    /// <param name="positionIds">(B, T) positions, or null to derive them from the mask and the cache.</param>
    /// <param name="cache">Key/value cache extended in place, or null.</param>
    /// <returns>(B, T, hidden) final hidden states (after <c>norm</c>).</returns>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        long batch = inputIds.shape[0], length = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        var device = inputIds.device;
        using var positions = positionIds is null ? DecoderMasks.PositionIds(attentionMask, batch, length, past, device) : positionIds.alias();
        using var mask = DecoderMasks.Causal(attentionMask, length, past + length, device, Config.EffectiveSlidingWindow);
        var hidden = embed_tokens.forward(inputIds);                                              // (B, T, hidden)
        var (cos, sin) = rotary.CosSin(positions, hidden.dtype);                                 // (B, T, head_dim), shared by all layers
        using (cos)
        using (sin)
        {
            foreach (var layer in layers) hidden = layer.forward(hidden, cos, sin, mask, cache);
        }
        return norm.forward(hidden);
    }
}
