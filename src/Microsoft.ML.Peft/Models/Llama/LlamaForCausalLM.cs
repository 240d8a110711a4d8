using Microsoft.ML.Peft.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Llama;

/// <summary>
/// A LLaMA-family decoder (LLaMA, Mistral, Qwen2, SmolLM) with its language-model head; state-dict keys equal to
/// Hugging Face's <c>LlamaForCausalLM</c>/<c>MistralForCausalLM</c>/<c>Qwen2ForCausalLM</c> checkpoints:
/// <c>model.*</c>, plus <c>lm_head.weight</c> only when the head is not tied. As for GPT-2 (see
/// <see cref="Gpt2.Gpt2LMHeadModel"/>), a tied head is the embedding matrix itself, used through
/// <c>linear(hidden, embed_tokens.weight)</c>, and appears once in the state dict, as Hugging Face saves it.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module, ICausalLM
{
    readonly LlamaModel model;
    readonly Linear? lm_head;

    /// <summary>Creates a randomly initialised model (Hugging Face's initialisation) for <paramref name="config"/>.</summary>
    public LlamaForCausalLM(LlamaConfig config) : base("LlamaForCausalLM")
    {
        model = new LlamaModel(config);
        lm_head = TiedLanguageModelHead.CreateUntied(config.TieWordEmbeddings, config.HiddenSize, config.VocabSize, config.InitializerRange);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public LlamaConfig Config => model.Config;

    /// <summary>The decoder under the head.</summary>
    public LlamaModel Model => model;

    /// <summary>
    /// How a Hugging Face checkpoint maps onto this module: rotary frequency buffers some exports contain
    /// (<c>rotary_emb.inv_freq</c>) are skipped, and a tied <c>lm_head.weight</c> is ignored.
    /// </summary>
    public StateDictLoadOptions LoadOptions => new()
    {
        KeyMapper = key => key.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal) ? null : key,
        IgnoreUnexpected = Config.TieWordEmbeddings ? new[] { "lm_head." } : Array.Empty<string>(),
    };

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public int NumLayers => Config.NumHiddenLayers;

    /// <inheritdoc />
    public int MaxPositions => Config.MaxPositionEmbeddings;

    /// <inheritdoc />
    public IReadOnlyList<int> EosTokenIds => Config.EosTokenId ?? new List<int>();

    /// <inheritdoc />
    public int? PadTokenId => Config.PadTokenId;

    /// <inheritdoc />
    public Device Device => TiedLanguageModelHead.DeviceOf(model.EmbedTokens);

    /// <inheritdoc />
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        var hidden = model.forward(inputIds, attentionMask, positionIds, cache);        // (B, n + T, hidden), n virtual tokens
        return TiedLanguageModelHead.Logits(hidden, lm_head, model.EmbedTokens);   // (B, n + T, vocab)
    }

    /// <inheritdoc />
    public Tensor LastLogits(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var hidden = model.forward(inputIds, attentionMask, positionIds, cache);  // (B, n + T, hidden)
        return TiedLanguageModelHead.LastLogits(hidden, lm_head, model.EmbedTokens);  // (B, vocab)
    }
}
