using Microsoft.ML.Peft.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Gpt2;

/// <summary>
/// GPT-2 with its language-model head, state-dict keys equal to Hugging Face's <c>GPT2LMHeadModel</c> checkpoints:
/// <c>transformer.*</c>, plus <c>lm_head.weight</c> only when the head is not tied.
/// <para>
/// Tied head: when <c>tie_word_embeddings</c> is true (every published GPT-2) the logits are
/// <c>hidden @ wte.weightᵀ</c> and no <c>lm_head</c> module exists, so the state dict holds the matrix once, under
/// <c>transformer.wte.weight</c> — exactly the keys Hugging Face's <c>save_pretrained</c> writes (it drops the tied
/// duplicate). PyTorch's in-memory <c>state_dict()</c> would also list <c>lm_head.weight</c> as an alias; we do
/// not, so that saving never writes the matrix twice and a checkpoint without <c>lm_head.weight</c> loads strictly.
/// A tied checkpoint that does carry <c>lm_head.weight</c> (older exports) is accepted by <see cref="LoadOptions"/>,
/// which ignores it.
/// </para>
/// </summary>
public sealed class Gpt2LMHeadModel : nn.Module, ICausalLM
{
    readonly Gpt2Model transformer;
    readonly Linear? lm_head;

    /// <summary>Creates a randomly initialised model (Hugging Face's initialisation) for <paramref name="config"/>.</summary>
    public Gpt2LMHeadModel(Gpt2Config config) : base("GPT2LMHeadModel")
    {
        transformer = new Gpt2Model(config);
        lm_head = TiedLanguageModelHead.CreateUntied(config.TieWordEmbeddings, config.NEmbd, config.VocabSize, config.InitializerRange);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public Gpt2Config Config => transformer.Config;

    /// <summary>The transformer under the head.</summary>
    public Gpt2Model Transformer => transformer;

    /// <summary>
    /// How a Hugging Face GPT-2 checkpoint maps onto this module: the causal-mask buffers older checkpoints store
    /// (<c>attn.bias</c>, <c>attn.masked_bias</c>) are skipped, and a tied <c>lm_head.weight</c> is ignored.
    /// A base-model checkpoint without the <c>transformer.</c> prefix (e.g. <c>openai-community/gpt2</c>) is
    /// matched by the loader's prefix detection.
    /// </summary>
    public StateDictLoadOptions LoadOptions => new()
    {
        KeyMapper = key => key.EndsWith(".attn.bias", StringComparison.Ordinal) || key.EndsWith(".attn.masked_bias", StringComparison.Ordinal) ? null : key,
        IgnoreUnexpected = Config.TieWordEmbeddings ? new[] { "lm_head." } : Array.Empty<string>(),
    };

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public int NumLayers => Config.NLayer;

    /// <inheritdoc />
    public int MaxPositions => Config.NPositions;

    /// <inheritdoc />
    public IReadOnlyList<int> EosTokenIds => Config.EosTokenId is int eos ? new[] { eos } : Array.Empty<int>();

    /// <inheritdoc />
    public int? PadTokenId => Config.PadTokenId;

    /// <inheritdoc />
    public Device Device => TiedLanguageModelHead.DeviceOf(transformer.TokenEmbedding);

    /// <inheritdoc />
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        var hidden = transformer.forward(inputIds, attentionMask, positionIds, cache);   // (B, n + T, n_embd), n virtual tokens
        return TiedLanguageModelHead.Logits(hidden, lm_head, transformer.TokenEmbedding);   // (B, n + T, vocab)
    }

    /// <inheritdoc />
    public Tensor LastLogits(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var hidden = transformer.forward(inputIds, attentionMask, positionIds, cache);  // (B, n + T, n_embd)
        return TiedLanguageModelHead.LastLogits(hidden, lm_head, transformer.TokenEmbedding);  // (B, vocab)
    }
}
