namespace Microsoft.ML.Peft.Tokenization;

/// <summary>Options of <see cref="BertWordPieceTokenizer"/>; the defaults are those of <c>bert-base-uncased</c>.</summary>
public sealed class WordPieceTokenizerOptions
{
    /// <summary>Lower-case the text before splitting it (true for uncased models, false for cased ones).</summary>
    public bool LowerCase { get; set; } = true;

    /// <summary>
    /// Strip accents (remove non-spacing marks after Unicode decomposition, so "café" becomes "cafe").
    /// <see langword="null"/> follows <see cref="LowerCase"/>, as BERT's original tokenizer does.
    /// </summary>
    public bool? StripAccents { get; set; }

    /// <summary>Split CJK ideographs into one token per character, as BERT was trained.</summary>
    public bool TokenizeChineseChars { get; set; } = true;

    /// <summary>Classification token, written first.</summary>
    public string ClsToken { get; set; } = "[CLS]";

    /// <summary>Separator token, written after each text.</summary>
    public string SepToken { get; set; } = "[SEP]";

    /// <summary>Padding token.</summary>
    public string PadToken { get; set; } = "[PAD]";

    /// <summary>Token for words the vocabulary cannot spell.</summary>
    public string UnkToken { get; set; } = "[UNK]";

    /// <summary>Mask token of masked language modelling; optional in the vocabulary.</summary>
    public string MaskToken { get; set; } = "[MASK]";

    /// <summary>Builds options from a model folder's Hugging Face settings, keeping the defaults for what they do not say.</summary>
    /// <param name="config">The settings read from the folder.</param>
    /// <returns>New options.</returns>
    public static WordPieceTokenizerOptions From(TokenizerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var options = new WordPieceTokenizerOptions();
        options.LowerCase = config.DoLowerCase ?? options.LowerCase;
        options.StripAccents = config.StripAccents;
        options.TokenizeChineseChars = config.TokenizeChineseChars ?? options.TokenizeChineseChars;
        options.ClsToken = config.ClsToken ?? options.ClsToken;
        options.SepToken = config.SepToken ?? options.SepToken;
        options.PadToken = config.PadToken ?? options.PadToken;
        options.UnkToken = config.UnkToken ?? options.UnkToken;
        options.MaskToken = config.MaskToken ?? options.MaskToken;
        return options;
    }
}
