using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// The SentencePiece tokenizer of LLaMA / Mistral checkpoints (<c>tokenizer.model</c>), read by Microsoft.ML.Tokenizers'
/// <see cref="LlamaTokenizer"/>. This class adds the model's framing: <c>&lt;s&gt;</c> before the text when
/// <c>add_bos_token</c> is true (the default) and <c>&lt;/s&gt;</c> after it when <c>add_eos_token</c> is true, as
/// <c>tokenizer_config.json</c> says; bos/eos/pad/unk tokens come from that file and <c>special_tokens_map.json</c>,
/// falling back to those of the SentencePiece model (pad: <c>pad_token_id</c> of <c>generation_config.json</c> or
/// <c>config.json</c>, else the end-of-sequence id).
/// </summary>
public sealed class LlamaSentencePieceTokenizer : TransformerTokenizer
{
    /// <summary>File name of a SentencePiece model.</summary>
    public const string ModelFile = "tokenizer.model";

    readonly SentencePieceTokenizer tokenizer;

    LlamaSentencePieceTokenizer(SentencePieceTokenizer tokenizer, SpecialTokenIds specialTokens, SequenceTemplate template, int vocabularySize)
        : base(specialTokens, template, vocabularySize) => this.tokenizer = tokenizer;

    /// <summary>Loads <c>tokenizer.model</c> and the tokenizer settings of a model folder.</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">The folder has no <c>tokenizer.model</c>.</exception>
    /// <exception cref="InvalidDataException">The file is not a SentencePiece model, or a configured special token is not in it.</exception>
    public static LlamaSentencePieceTokenizer FromDirectory(string folder)
    {
        string path = Path.Combine(folder, ModelFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"No {ModelFile} in {folder}.", path);
        SentencePieceTokenizer sp;
        try
        {
            using var stream = File.OpenRead(path);
            sp = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidDataException($"{path} is not a SentencePiece model Microsoft.ML.Tokenizers can read: {e.Message}", e);
        }

        var config = TokenizerConfig.Load(folder);
        var modelIds = ModelTokenIds.Load(folder);
        bool addBos = config.AddBosToken ?? true, addEos = config.AddEosToken ?? false;
        var vocab = sp.Vocabulary;
        int Id(string? token, int fallback, string role) => token is null ? fallback
            : vocab.TryGetValue(token, out int id) ? id
            : throw new InvalidDataException($"{folder}: the {role} token '{token}' is not in {ModelFile}.");
        int bos = Id(config.BosToken, sp.BeginningOfSentenceId, "beginning-of-sequence");
        int eos = Id(config.EosToken, sp.EndOfSentenceId, "end-of-sequence");
        int unk = Id(config.UnkToken, sp.UnknownId, "unknown");
        // LLaMA has no padding token; padding is masked anyway, so the end-of-sequence id serves (as in common practice).
        int pad = config.PadToken is null ? modelIds.Pad ?? eos : Id(config.PadToken, eos, "padding");
        var template = new SequenceTemplate(addBos ? new[] { bos } : Array.Empty<int>(), Array.Empty<int>(), addEos ? new[] { eos } : Array.Empty<int>(), 0);
        int size = vocab.Values.Max() + 1;
        return new LlamaSentencePieceTokenizer(sp, new SpecialTokenIds(bos, eos, pad, unk, null), template, size);
    }

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodeText(string text) =>
        tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);

    /// <inheritdoc />
    protected override string DecodeIds(IEnumerable<int> ids) => tokenizer.Decode(ids) ?? string.Empty;
}
