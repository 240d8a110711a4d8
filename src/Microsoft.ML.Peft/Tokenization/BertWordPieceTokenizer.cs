using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// WordPiece tokenizer of BERT-family models (BERT, DistilBERT, MiniLM, ELECTRA…) read from <c>vocab.txt</c>,
/// where the line number of a token is its id. Splitting into word pieces is done by
/// <see cref="BertTokenizer"/> of Microsoft.ML.Tokenizers; this class adds BERT's framing
/// (<c>[CLS] a [SEP] b [SEP]</c>, token type 1 for the second text), truncation and padding.
/// </summary>
public sealed class BertWordPieceTokenizer : TransformerTokenizer
{
    // The package insists on a mask token in the vocabulary, but some models (e.g. fine-tuned classifiers) ship
    // none. It then gets this extra line, past VocabularySize; the NUL it starts with is removed from every
    // input by BertTextNormalizer, so the placeholder can never be produced.
    private const string NoMaskPlaceholder = "\0[no-mask]";

    private static readonly Regex BasicSplit = new(BertTextNormalizer.PreTokenizerPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    private readonly BertTokenizer _tokenizer;

    private BertWordPieceTokenizer(BertTokenizer tokenizer, SpecialTokenIds specialTokens, int vocabularySize)
        : base(specialTokens, SequenceTemplate.Bert(specialTokens.Bos!.Value, specialTokens.Eos!.Value), vocabularySize)
    {
        _tokenizer = tokenizer;
    }

    /// <summary>Whether the text is lower-cased before splitting.</summary>
    public bool LowerCase => _tokenizer.LowerCaseBeforeTokenization;

    /// <summary>Whether accents are stripped before splitting.</summary>
    public bool StripAccents => _tokenizer.RemoveNonSpacingMarks;

    /// <summary>Loads a WordPiece vocabulary (<c>vocab.txt</c>: one token per line, the line index is the id).</summary>
    /// <param name="vocabPath">Path of <c>vocab.txt</c>.</param>
    /// <param name="options">Casing, accents and special tokens; <c>bert-base-uncased</c> defaults when null.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">The vocabulary file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">The file is empty or lacks a required special token; the message names the file and the token.</exception>
    public static BertWordPieceTokenizer FromVocabFile(string vocabPath, WordPieceTokenizerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vocabPath);
        options ??= new WordPieceTokenizerOptions();
        if (!File.Exists(vocabPath))
        {
            throw new FileNotFoundException($"WordPiece vocabulary file not found: {vocabPath}", vocabPath);
        }

        // Read the lines ourselves: the package does not expose the vocabulary size or a way to check special tokens.
        string[] lines = File.ReadAllLines(vocabPath);
        if (lines.Length == 0)
        {
            throw new InvalidDataException($"WordPiece vocabulary file {vocabPath} is empty.");
        }

        var ids = new Dictionary<string, int>(lines.Length, StringComparer.Ordinal);
        for (int i = 0; i < lines.Length; i++)
        {
            ids.TryAdd(lines[i], i); // The first occurrence wins, as in transformers' load_vocab.
        }

        int Require(string token, string role) => ids.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"WordPiece vocabulary file {vocabPath} has no line '{token}', needed as the {role} token.");

        var specialTokens = new SpecialTokenIds(
            Bos: Require(options.ClsToken, "classification (CLS)"),
            Eos: Require(options.SepToken, "separator (SEP)"),
            Pad: Require(options.PadToken, "padding (PAD)"),
            Unk: Require(options.UnkToken, "unknown (UNK)"),
            Mask: ids.TryGetValue(options.MaskToken, out int mask) ? mask : null);

        // Basic tokenization is ours (see BertTextNormalizer); the package's WordPiece does the sub-word split.
        string[] specialStrings = [options.ClsToken, options.SepToken, options.PadToken, options.UnkToken, options.MaskToken];
        var inText = specialStrings.Distinct().Where(ids.ContainsKey).ToDictionary(t => t, t => ids[t], StringComparer.Ordinal);
        bool stripAccents = options.StripAccents ?? options.LowerCase;
        var bertOptions = new BertOptions
        {
            ApplyBasicTokenization = false,
            LowerCaseBeforeTokenization = options.LowerCase,
            RemoveNonSpacingMarks = stripAccents,
            IndividuallyTokenizeCjk = options.TokenizeChineseChars,
            Normalizer = new BertTextNormalizer(options.LowerCase, stripAccents, options.TokenizeChineseChars, inText.Keys),
            PreTokenizer = new RegexPreTokenizer(BasicSplit, inText),
            SplitOnSpecialTokens = true,
            ClassificationToken = options.ClsToken,
            SeparatorToken = options.SepToken,
            PaddingToken = options.PadToken,
            UnknownToken = options.UnkToken,
            MaskingToken = specialTokens.Mask is null ? NoMaskPlaceholder : options.MaskToken,
        };

        BertTokenizer tokenizer;
        try
        {
            using Stream vocabStream = specialTokens.Mask is null ? WithPlaceholderMask(lines) : File.OpenRead(vocabPath);
            tokenizer = BertTokenizer.Create(vocabStream, bertOptions);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Cannot read WordPiece vocabulary file {vocabPath}: {e.Message}", e);
        }

        return new BertWordPieceTokenizer(tokenizer, specialTokens, lines.Length);
    }

    private static MemoryStream WithPlaceholderMask(string[] lines) =>
        new(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines.Append(NoMaskPlaceholder)) + "\n"));

    /// <inheritdoc />
    protected override IReadOnlyList<int> EncodeText(string text) =>
        text.Length == 0 ? [] : _tokenizer.EncodeToIds(text, addSpecialTokens: false);

    /// <inheritdoc />
    protected override string DecodeIds(IEnumerable<int> ids) => _tokenizer.Decode(ids, skipSpecialTokens: false);
}
