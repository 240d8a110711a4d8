using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// A BPE tokenizer read from a Hugging Face <c>tokenizer.json</c>: byte-level models (GPT-2, Qwen2, Llama 3, SmolLM;
/// pre-tokenizer ByteLevel or Split + ByteLevel, decoder ByteLevel) and SentencePiece-style models (Llama 2,
/// Mistral; "▁" for spaces through a Prepend/Replace normalizer or a Metaspace pre-tokenizer, <c>&lt;0xNN&gt;</c>
/// byte fallback, decoder Replace/ByteFallback/Fuse/Strip). Added tokens are matched in the text first and never split.
/// </summary>
/// <remarks>
/// <para>Byte-level words are merged by Microsoft.ML.Tokenizers' <c>BpeTokenizer</c>; SentencePiece-style words by
/// this library (that class has no byte fallback). Unigram, WordLevel and WordPiece models are not supported.</para>
/// <para><b>Special tokens</b>, role by role (bos, eos, pad, unk): the token text named by
/// <c>special_tokens_map.json</c>, else by <c>tokenizer_config.json</c> (a string or <c>{"content": ...}</c>),
/// looked up among the added tokens, then the vocabulary; else the id in <c>generation_config.json</c>, else in
/// <c>config.json</c> (<c>bos_token_id</c>, <c>eos_token_id</c> — the first when it is a list — and
/// <c>pad_token_id</c>); else unk falls back to the model's <c>unk_token</c> and pad to eos, then unk, then the
/// first special added token, then 0 (padded positions are masked, so any id that is not a word's serves). <see cref="EosTokenIds"/> holds eos followed by every other id of
/// <c>eos_token_id</c>.</para>
/// <para><b>Framing</b> (what <see cref="TransformerTokenizer.EncodeToIds"/> adds): <c>add_bos_token</c> and
/// <c>add_eos_token</c> of <c>tokenizer_config.json</c> when stated, each deciding its side; else the
/// <c>post_processor</c> of <c>tokenizer.json</c> (TemplateProcessing, RobertaProcessing, BertProcessing); else none.</para>
/// </remarks>
public sealed class HuggingFaceTokenizer : TransformerTokenizer
{
    /// <summary>File name of a Hugging Face tokenizers file.</summary>
    public const string TokenizerJsonFile = "tokenizer.json";

    readonly AddedTokenSplitter splitter;
    readonly Func<string, string> normalize;
    readonly Func<JsonPreTokenizer.Piece, IEnumerable<JsonPreTokenizer.Piece>> preTokenize;
    readonly IWordEncoder encoder;
    readonly Func<List<string>, List<string>> decode;
    readonly Dictionary<string, int> vocabulary;
    readonly Dictionary<int, string> idToToken;
    readonly HashSet<int> specialAddedIds;
    readonly Dictionary<string, int> addedByContent;

    HuggingFaceTokenizer(Parts parts, SpecialTokenIds ids, SequenceTemplate template, int size, IReadOnlyList<int> eosIds)
        : base(ids, template, size)
    {
        (splitter, normalize, preTokenize, encoder, decode) = (parts.Splitter, parts.Normalize, parts.PreTokenize, parts.Encoder, parts.Decode);
        (vocabulary, idToToken, specialAddedIds, IsByteLevel) = (parts.Vocabulary, parts.IdToToken, parts.SpecialAddedIds, parts.ByteLevel);
        EosTokenIds = eosIds;
        addedByContent = parts.AddedByContent;
    }

    /// <summary>Whether the model is byte-level BPE (GPT-2 style) rather than SentencePiece-style.</summary>
    public bool IsByteLevel { get; }

    /// <summary>Every id that ends a sequence: <see cref="SpecialTokenIds.Eos"/> first, then the other ids of <c>eos_token_id</c>.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Loads <c>tokenizer.json</c> of a model folder with the settings of its other files (see remarks).</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">The folder has no <c>tokenizer.json</c>.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, or a named special token is unknown; the message names the file and key.</exception>
    /// <exception cref="NotSupportedException">The file uses a model, normalizer, pre-tokenizer, decoder or post-processor this version lacks; the message names the file, key and type.</exception>
    public static HuggingFaceTokenizer FromDirectory(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        return FromFile(Path.Combine(folder, TokenizerJsonFile), TokenizerConfig.Load(folder), ModelTokenIds.Load(folder));
    }

    /// <summary>Loads a <c>tokenizer.json</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="config">Settings of <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c>; none when null.</param>
    /// <param name="modelIds">Ids of <c>generation_config.json</c> / <c>config.json</c>; none when null.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is malformed; the message names it and the key.</exception>
    /// <exception cref="NotSupportedException">The file uses a component this version lacks; the message names it, the key and the type.</exception>
    public static HuggingFaceTokenizer FromFile(string path, TokenizerConfig? config = null, ModelTokenIds? modelIds = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using JsonDocument document = JsonSource.Parse(path);
        var source = new JsonSource(path);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw source.Error("(root)", $"expected a JSON object, found {root.ValueKind}.");

        BpeModelData model = BpeModelData.Read(source, root);
        List<AddedToken> added = AddedToken.ReadAll(source, root);
        bool byteLevel = UsesByteLevel(root);
        var parts = new Parts(
            new AddedTokenSplitter(added),
            JsonNormalizer.Read(source, root),
            JsonPreTokenizer.Read(source, root),
            byteLevel ? new ByteLevelWordEncoder(source, model) : new MergeWordEncoder(source, model),
            JsonDecoder.Read(source, root),
            model.Vocabulary,
            IdTable(model.Vocabulary, added),
            added.Where(t => t.Special).Select(t => t.Id).ToHashSet(),
            added.GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal),
            byteLevel);
        SequenceTemplate? template = JsonPostProcessor.Read(source, root);

        int? Lookup(string token) => parts.AddedByContent.TryGetValue(token, out int a) ? a : model.Vocabulary.TryGetValue(token, out int v) ? v : null;
        var resolver = new SpecialTokenResolver(Path.GetDirectoryName(Path.GetFullPath(path))!, Lookup);
        config ??= new TokenizerConfig();
        var (ids, eosIds) = resolver.Resolve(config, modelIds ?? new ModelTokenIds(), model.UnknownToken,
            added.Where(t => t.Special).Select(t => (int?)t.Id).FirstOrDefault());
        int size = parts.IdToToken.Keys.Max() + 1;
        return new HuggingFaceTokenizer(parts, ids, resolver.Framing(config, template, ids), size, eosIds);
    }

    /// <summary>The id of a token (an added token's text, or a vocabulary entry as the model spells it), or null.</summary>
    /// <param name="token">The token.</param>
    /// <returns>The id, or null when the tokenizer does not know it.</returns>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return addedByContent.TryGetValue(token, out int added) ? added : vocabulary.TryGetValue(token, out int id) ? id : null;
    }

    /// <summary>The token string of an id (as the vocabulary spells it, e.g. "Ġthe" or "▁the"), or null when unknown.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The token, or null.</returns>
    public string? IdToToken(int id) => idToToken.TryGetValue(id, out string? token) ? token : null;

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodeText(string text)
    {
        var ids = new List<int>();
        foreach (AddedTokenSplitter.Segment segment in splitter.Split(text))
        {
            if (segment.Token is not null)
            {
                ids.Add(segment.Token.Id);
                continue;
            }

            foreach (JsonPreTokenizer.Piece piece in preTokenize(new JsonPreTokenizer.Piece(normalize(segment.Text), segment.AtStart)))
            {
                if (piece.Text.Length > 0) encoder.Encode(piece.Text, ids);
            }
        }

        return ids;
    }

    /// <inheritdoc />
    protected override string DecodeIds(IEnumerable<int> ids)
    {
        // Unknown ids are skipped, as Hugging Face does.
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            if (idToToken.TryGetValue(id, out string? token)) tokens.Add(token);
        }

        return string.Concat(decode(tokens));
    }

    /// <inheritdoc />
    protected override HashSet<int> SpecialIdSet()
    {
        HashSet<int> set = base.SpecialIdSet();
        set.UnionWith(specialAddedIds);
        return set;
    }

    // Added tokens win over a vocabulary entry with the same id: their text is what decoding must give back.
    static Dictionary<int, string> IdTable(Dictionary<string, int> vocabulary, List<AddedToken> added)
    {
        var table = new Dictionary<int, string>(vocabulary.Count + added.Count);
        foreach ((string token, int id) in vocabulary) table.TryAdd(id, token);
        foreach (AddedToken token in added) table[token.Id] = token.Content;
        return table;
    }

    // Byte-level BPE shows in its pre-tokenizer (ByteLevel, possibly inside a Sequence) or its ByteLevel decoder.
    static bool UsesByteLevel(JsonElement root)
    {
        static bool Has(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => (e.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String && t.GetString() == "ByteLevel")
                || e.EnumerateObject().Any(p => Has(p.Value)),
            JsonValueKind.Array => e.EnumerateArray().Any(Has),
            _ => false,
        };
        return (root.TryGetProperty("pre_tokenizer", out JsonElement p) && Has(p)) || (root.TryGetProperty("decoder", out JsonElement d) && Has(d));
    }

    sealed record Parts(
        AddedTokenSplitter Splitter,
        Func<string, string> Normalize,
        Func<JsonPreTokenizer.Piece, IEnumerable<JsonPreTokenizer.Piece>> PreTokenize,
        IWordEncoder Encoder,
        Func<List<string>, List<string>> Decode,
        Dictionary<string, int> Vocabulary,
        Dictionary<int, string> IdToToken,
        HashSet<int> SpecialAddedIds,
        Dictionary<string, int> AddedByContent,
        bool ByteLevel);
}
