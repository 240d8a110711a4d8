using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// Byte-level BPE tokenizer of GPT-2 and RoBERTa-family models, read from <c>vocab.json</c> and <c>merges.txt</c>.
/// The merges themselves are applied by <see cref="BpeTokenizer"/> of Microsoft.ML.Tokenizers (in byte-level mode,
/// behind GPT-2's pre-tokenization regex); this class adds the model's framing, truncation and padding.
/// </summary>
public sealed class ByteLevelBpeTokenizer : TransformerTokenizer
{
    // GPT-2's split of text into words before BPE (contractions, letters, digits, other symbols, whitespace runs);
    // RoBERTa and the other byte-level models reuse it unchanged.
    private static readonly Regex Gpt2Split = new(JsonPreTokenizer.Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    private readonly BpeTokenizer _tokenizer;
    private readonly bool _addPrefixSpace;

    private ByteLevelBpeTokenizer(BpeTokenizer tokenizer, SpecialTokenIds specialTokens, SequenceTemplate template, int vocabularySize, bool addPrefixSpace)
        : base(specialTokens, template, vocabularySize)
    {
        _tokenizer = tokenizer;
        _addPrefixSpace = addPrefixSpace;
    }

    /// <summary>Loads a byte-level BPE model.</summary>
    /// <param name="vocabJsonPath">Path of <c>vocab.json</c>: a JSON object from token to id.</param>
    /// <param name="mergesPath">Path of <c>merges.txt</c>: one merge "a b" per line, by priority, after an optional <c>#version</c> line.</param>
    /// <param name="options">Framing and special tokens; GPT-2 defaults when null.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or a required special token is missing; the message names the file and the value.</exception>
    public static ByteLevelBpeTokenizer FromFiles(string vocabJsonPath, string mergesPath, ByteLevelBpeOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vocabJsonPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(mergesPath);
        options ??= ByteLevelBpeOptions.Gpt2();
        Dictionary<string, int> vocab = ReadVocabulary(vocabJsonPath);
        List<string> merges = ReadMerges(mergesPath);

        bool roberta = options.Framing == BpeFraming.Roberta;
        string eosToken = options.EosToken ?? (roberta ? "</s>" : "<|endoftext|>");
        string bosToken = options.BosToken ?? (roberta ? "<s>" : eosToken);
        string? padToken = options.PadToken ?? (roberta ? "<pad>" : null);
        string? unkToken = options.UnkToken ?? (roberta ? "<unk>" : eosToken);
        string? maskToken = options.MaskToken ?? (roberta ? "<mask>" : null);

        int Require(string token, string role) => vocab.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"Vocabulary file {vocabJsonPath} has no '{token}', needed as the {role} token.");
        int? Optional(string? token) => token is not null && vocab.TryGetValue(token, out int id) ? id : null;

        int eos = Require(eosToken, "end-of-sequence");
        int? bos = roberta ? Require(bosToken, "beginning-of-sequence") : Optional(bosToken);

        // GPT-2 has no padding token; like common practice in transformers, pad with end-of-text (the mask hides it).
        int pad = roberta ? Require(padToken!, "padding") : Optional(padToken) ?? eos;
        var specialIds = new SpecialTokenIds(bos, eos, pad, Optional(unkToken), Optional(maskToken));

        // Special tokens written in the text (e.g. "<|endoftext|>") must map to their ids, not be spelled out in bytes.
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string? token in new[] { bosToken, eosToken, padToken, unkToken, maskToken })
        {
            if (token is not null && vocab.TryGetValue(token, out int id))
            {
                specials[token] = id;
            }
        }

        var bpeOptions = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(Gpt2Split, specials),
        };

        BpeTokenizer tokenizer;
        try
        {
            tokenizer = BpeTokenizer.Create(bpeOptions);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Cannot build a BPE tokenizer from {vocabJsonPath} and {mergesPath}: {e.Message}", e);
        }

        SequenceTemplate template = roberta ? SequenceTemplate.Roberta(bos!.Value, eos) : SequenceTemplate.None;
        int size = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        return new ByteLevelBpeTokenizer(tokenizer, specialIds, template, size, options.AddPrefixSpace);
    }

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodeText(string text)
    {
        if (text.Length == 0)
        {
            return [];
        }

        if (_addPrefixSpace && text[0] != ' ')
        {
            text = " " + text;
        }

        return _tokenizer.EncodeToIds(text);
    }

    /// <inheritdoc />
    protected override string DecodeIds(IEnumerable<int> ids) => _tokenizer.Decode(ids, considerSpecialTokens: true);

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"BPE vocabulary file not found: {path}", path);
        }

        Dictionary<string, int>? vocab;
        try
        {
            using FileStream stream = File.OpenRead(path);
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(stream);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"BPE vocabulary file {path} must be a JSON object from token to integer id: {e.Message}", e);
        }

        if (vocab is null || vocab.Count == 0)
        {
            throw new InvalidDataException($"BPE vocabulary file {path} is empty.");
        }

        foreach ((string token, int id) in vocab)
        {
            if (id < 0)
            {
                throw new InvalidDataException($"BPE vocabulary file {path} gives '{token}' the negative id {id}.");
            }
        }

        return vocab;
    }

    private static List<string> ReadMerges(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"BPE merges file not found: {path}", path);
        }

        var merges = new List<string>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }

            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            {
                throw new InvalidDataException($"BPE merges file {path}, line {lineNumber}: expected two tokens separated by one space, got '{line}'.");
            }

            merges.Add(line);
        }

        return merges;
    }
}
