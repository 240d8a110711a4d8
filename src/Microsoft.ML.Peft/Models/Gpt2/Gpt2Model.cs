using Microsoft.ML.Peft.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Gpt2;

/// <summary>
/// The GPT-2 transformer without a head. HF names (under <c>transformer.</c> in <see cref="Gpt2LMHeadModel"/>):
/// <c>wte</c> token embedding, <c>wpe</c> learned position embedding, <c>h.{i}</c> blocks, <c>ln_f</c> final norm.
/// </summary>
public sealed class Gpt2Model : nn.Module
{
    readonly Embedding wte, wpe;
    readonly ModuleList<Gpt2Block> h;
    readonly LayerNorm ln_f;
    readonly double embdDropout;

    /// <summary>Creates a randomly initialised transformer (Hugging Face's initialisation) for <paramref name="config"/>.</summary>
    public Gpt2Model(Gpt2Config config) : base("transformer")
    {
        config.Validate();
        Config = config;
        embdDropout = config.EmbdPdrop;
        wte = nn.Embedding(config.VocabSize, config.NEmbd);
        wpe = nn.Embedding(config.NPositions, config.NEmbd);
        h = nn.ModuleList(Enumerable.Range(0, config.NLayer).Select(i => new Gpt2Block(config, i)).ToArray());
        ln_f = nn.LayerNorm(config.NEmbd, config.LayerNormEpsilon);
        RegisterComponents();
        Gpt2Initialization.Apply(this, config);
    }

    /// <summary>The architecture.</summary>
    public Gpt2Config Config { get; }

    /// <summary>The token embedding, <c>[vocab, n_embd]</c>; also the output head when tied.</summary>
    public Embedding TokenEmbedding => wte;

    /// <summary>The blocks.</summary>
    public IReadOnlyList<Gpt2Block> Blocks => h.ToList();

    /// <summary>
    /// The prompt-learning method acting on this decoder, or null (the plain model). Set by prompt tuning, P-Tuning and
    /// prefix tuning; see <see cref="DecoderInput"/> for what it changes.
    /// </summary>
    public IDecoderPrompt? Prompt { get; set; }

    /// <summary>Runs the blocks on new tokens.</summary>
    /// <param name="inputIds">(B, T) int64 ids.</param>
    /// <param name="attentionMask">(B, past + T) 0/1 mask over the caller's tokens (never the prompt's), or null.</param>
    /// <param name="positionIds">(B, T) positions, or null to derive them from the mask and the cache.</param>
    /// <param name="cache">Key/value cache extended in place, or null.</param>
    /// <returns>(B, n + T, n_embd) final hidden states (after <c>ln_f</c>); n is the number of virtual tokens a prompt
    /// method put in front on this (prefill) step, else 0.</returns>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var input = DecoderInput.Prepare(Prompt, wte, inputIds, attentionMask, positionIds, cache, Config.NLayer);
        long length = input.Length, past = input.Past;
        if (past + length > Config.NPositions)
            throw new ArgumentException($"The sequence reaches position {past + length} (prompt positions included) but GPT-2 has only n_positions = {Config.NPositions} learned positions.", nameof(inputIds));
        using var mask = DecoderMasks.Causal(input.AttentionMask, length, past + length, inputIds.device);
        var hidden = input.Embeddings + wpe.forward(input.Positions);                   // (B, n + T, n_embd)
        hidden = FastDropout.Apply(hidden, embdDropout, training);
        foreach (var block in h) hidden = block.forward(hidden, mask, input.Cache);
        return ln_f.forward(hidden);
    }
}
