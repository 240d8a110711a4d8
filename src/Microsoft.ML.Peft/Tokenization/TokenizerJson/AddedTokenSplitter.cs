namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// Cuts a text into plain stretches and added tokens, before normalization, so that an added token is never split
/// by the model. At each position the longest added token that starts there wins (Hugging Face's leftmost-longest).
/// </summary>
/// <remarks>
/// Hugging Face matches tokens marked <c>normalized: true</c> against the normalized text; here every added token is
/// matched against the raw text, which gives the same result for the usual special tokens (their text is left
/// unchanged by the normalizers decoders use).
/// </remarks>
internal sealed class AddedTokenSplitter
{
    readonly Dictionary<char, AddedToken[]> byFirstChar;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens) =>
        byFirstChar = tokens.GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());

    /// <summary>A stretch of the text: plain text to encode (<see cref="Token"/> null), or one added token.</summary>
    public readonly record struct Segment(string Text, AddedToken? Token, bool AtStart);

    public List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        int plainStart = 0, i = 0;
        while (i < text.Length)
        {
            AddedToken? match = MatchAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }

            int plainEnd = i;
            if (match.LStrip) while (plainEnd > plainStart && char.IsWhiteSpace(text[plainEnd - 1])) plainEnd--;
            AddPlain(segments, text, plainStart, plainEnd);
            segments.Add(new Segment(match.Content, match, segments.Count == 0 && plainEnd == 0));
            i += match.Content.Length;
            if (match.RStrip) while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            plainStart = i;
        }

        AddPlain(segments, text, plainStart, text.Length);
        return segments;
    }

    static void AddPlain(List<Segment> segments, string text, int start, int end)
    {
        // AtStart tells Metaspace's "first" scheme that this stretch begins the whole text.
        if (end > start) segments.Add(new Segment(text[start..end], null, start == 0));
    }

    AddedToken? MatchAt(string text, int i)
    {
        if (!byFirstChar.TryGetValue(text[i], out AddedToken[]? candidates)) return null;
        foreach (AddedToken token in candidates)
        {
            if (!text.AsSpan(i).StartsWith(token.Content, StringComparison.Ordinal)) continue;
            if (token.SingleWord && (IsWordChar(text, i - 1) || IsWordChar(text, i + token.Content.Length))) continue;
            return token;
        }

        return null;
    }

    static bool IsWordChar(string text, int i) => i >= 0 && i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_');
}
