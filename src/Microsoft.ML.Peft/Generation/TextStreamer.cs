namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// Turns a growing list of generated ids into text pieces. The whole output is decoded each time and only what
/// is new is handed out, because a token's text depends on its neighbours (byte-level BPE splits a character over
/// several tokens; SentencePiece drops the leading space of the first word). Text is held back while it ends in
/// an incomplete character (U+FFFD) or could be the start of a stop text, so no piece ever has to be taken back.
/// </summary>
internal sealed class TextStreamer
{
    readonly Func<IReadOnlyList<int>, string> decode;
    readonly StopConditions stop;
    readonly IReadOnlyList<string> stopTexts;
    int emitted;

    public TextStreamer(Func<IReadOnlyList<int>, string> decode, StopConditions stop, IReadOnlyList<string> stopTexts)
    {
        this.decode = decode;
        this.stop = stop;
        this.stopTexts = stopTexts;
    }

    /// <summary>The new text piece after <paramref name="generated"/> grew; empty when nothing can be handed out yet.</summary>
    /// <param name="generated">All generated ids so far.</param>
    /// <param name="final">True on the last call: hand out everything left (cut at a stop text).</param>
    public string Next(IReadOnlyList<int> generated, bool final)
    {
        string text = stop.CutAtStopText(decode(generated));
        int end = text.Length;
        if (!final)
        {
            if (end > 0 && text[end - 1] == '\uFFFD') end--;
            end -= HeldForStopText(text[..end]);
        }
        if (end <= emitted) return string.Empty;
        string piece = text[emitted..end];
        emitted = end;
        return piece;
    }

    // Length of the longest suffix of text that is a proper prefix of a stop text.
    int HeldForStopText(string text)
    {
        int held = 0;
        foreach (string s in stopTexts)
            for (int length = Math.Min(s.Length - 1, text.Length); length > held; length--)
                if (text.EndsWith(s[..length], StringComparison.Ordinal)) { held = length; break; }
        return held;
    }
}
