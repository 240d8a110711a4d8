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

    /// <summary>
    /// The prompt-learning method acting on this decoder, or null (the plain model). Set by prompt tuning, P-Tuning and
    /// prefix tuning; see <see cref="DecoderInput"/> for what it changes.
    /// </summary>
    public IDecoderPrompt? Prompt { get; set; }

    /// <summary>Runs the layers on new tokens.</summary>
    /// <param name="inputIds">(B, T) int64 ids.</param>
    /// <param name="attentionMask">(B, past + T) 0/1 mask over the caller's tokens (never the prompt's), or null.</param>
    /// <param name="positionIds">(B, T) positions, or null to derive them from the mask and the cache.</param>
    /// <param name="cache">Key/value cache extended in place, or null.</param>
    /// <returns>(B, n + T, hidden) final hidden states (after <c>norm</c>); n is the number of virtual tokens a prompt
    /// method put in front on this (prefill) step, else 0.</returns>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var input = DecoderInput.Prepare(Prompt, embed_tokens, inputIds, attentionMask, positionIds, cache, Config.NumHiddenLayers);
        long length = input.Length, past = input.Past;
        using var mask = DecoderMasks.Causal(input.AttentionMask, length, past + length, inputIds.device, Config.EffectiveSlidingWindow);
        var hidden = input.Embeddings;                                                            // (B, n + T, hidden)
        var (cos, sin) = rotary.CosSin(input.Positions, hidden.dtype);                           // (B, n + T, head_dim), shared by all layers
        using (cos)
        using (sin)
        {
            foreach (var layer in layers) hidden = layer.forward(hidden, cos, sin, mask, input.Cache);
        }
        return norm.forward(hidden);
    }
}
