using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// The text clean-up of BERT's basic tokenizer, applied before WordPiece: drops control characters,
/// turns every whitespace into a space, puts spaces around CJK ideographs, lower-cases and strips accents.
/// The package's own BERT normalization drops symbols such as "$", "©" or emoji and glues words across tabs,
/// which changes the ids a pretrained model expects; this normalizer, with <see cref="PreTokenizerPattern"/>,
/// matches the reference tokenizer. Special tokens written in the text are copied unchanged.
/// </summary>
internal sealed class BertTextNormalizer : Normalizer
{
    /// <summary>
    /// Words are runs without whitespace or punctuation; each punctuation character is a word of its own.
    /// BERT counts every ASCII non-alphanumeric as punctuation, hence the symbols added to \p{P}.
    /// </summary>
    public const string PreTokenizerPattern = @"[\p{P}$+<=>^`|~]|[^\s\p{P}$+<=>^`|~]+";

    private readonly bool _lowerCase;
    private readonly bool _stripAccents;
    private readonly bool _splitCjk;
    private readonly string[] _specialTokens;

    public BertTextNormalizer(bool lowerCase, bool stripAccents, bool splitCjk, IEnumerable<string> specialTokens)
    {
        _lowerCase = lowerCase;
        _stripAccents = stripAccents;
        _splitCjk = splitCjk;

        // Longest first, so that a special token that begins another one cannot shadow it.
        _specialTokens = specialTokens.Where(t => t.Length > 0).Distinct().OrderByDescending(t => t.Length).ToArray();
    }

    /// <inheritdoc />
    public override string Normalize(string original) => Normalize(original.AsSpan());

    /// <inheritdoc />
    public override string Normalize(ReadOnlySpan<char> original)
    {
        var output = new StringBuilder(original.Length + 8);
        var word = new StringBuilder();
        int i = 0;
        while (i < original.Length)
        {
            string? special = SpecialAt(original, i);
            if (special is not null)
            {
                Flush(word, output);
                output.Append(special);
                i += special.Length;
                continue;
            }

            Rune.DecodeFromUtf16(original[i..], out Rune rune, out int consumed);
            i += consumed;
            if (rune.Value == 0 || rune.Value == 0xFFFD || IsControl(rune))
            {
                continue;
            }

            if (IsWhitespace(rune) || (_splitCjk && IsCjk(rune.Value)))
            {
                Flush(word, output);
                output.Append(' ');
                if (!IsWhitespace(rune))
                {
                    output.Append(rune.ToString()).Append(' ');
                }

                continue;
            }

            word.Append(rune.ToString());
        }

        Flush(word, output);
        return output.ToString();
    }

    private string? SpecialAt(ReadOnlySpan<char> text, int index)
    {
        foreach (string token in _specialTokens)
        {
            if (text[index..].StartsWith(token, StringComparison.Ordinal))
            {
                return token;
            }
        }

        return null;
    }

    // Casing and accents are handled per run of ordinary text, as the reference does per word.
    private void Flush(StringBuilder word, StringBuilder output)
    {
        if (word.Length == 0)
        {
            return;
        }

        string text = word.ToString().Normalize(NormalizationForm.FormC);
        word.Clear();
        if (_lowerCase)
        {
            text = text.ToLowerInvariant();
        }

        if (_stripAccents)
        {
            foreach (char c in text.Normalize(NormalizationForm.FormD))
            {
                if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
                {
                    output.Append(c);
                }
            }

            return;
        }

        output.Append(text);
    }

    private static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    // Tab, newline and carriage return are whitespace, not control; every other "C*" category is dropped.
    private static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r')
        {
            return false;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    // The CJK Unified Ideographs blocks BERT splits per character (not Hiragana, Katakana or Hangul).
    private static bool IsCjk(int cp) =>
        (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}
