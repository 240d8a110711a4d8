namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// Decides when a row is finished: its last token is an end-of-sequence or stop id, or its generated text now
/// contains a stop text. Text is checked on a decoded tail of the output, long enough to hold the longest stop
/// text (a token decodes to at least one byte, a character to at most four), so each step costs the same.
/// </summary>
internal sealed class StopConditions
{
    readonly HashSet<int> stopIds;
    readonly IReadOnlyList<string> stopTexts;
    readonly Func<IReadOnlyList<int>, string>? decode;
    readonly int tailTokens;

    public StopConditions(IEnumerable<int> endIds, IReadOnlyList<string> stopTexts, Func<IReadOnlyList<int>, string>? decode)
    {
        stopIds = new HashSet<int>(endIds);
        this.stopTexts = stopTexts;
        this.decode = decode;
        if (stopTexts.Count > 0 && decode is null)
            throw new InvalidOperationException("GenerationOptions.StopSequences needs a tokenizer to decode the output; create the TextGenerator with one.");
        tailTokens = stopTexts.Count == 0 ? 0 : 4 * stopTexts.Max(s => s.Length) + 2;
    }

    /// <summary>Whether <paramref name="token"/> ends generation by id alone.</summary>
    public bool IsStopId(int token) => stopIds.Contains(token);

    /// <summary>Whether the row whose output (the new token included) is <paramref name="generated"/> is finished.</summary>
    public bool IsFinished(List<int> generated)
    {
        if (generated.Count > 0 && stopIds.Contains(generated[^1])) return true;
        if (tailTokens == 0) return false;
        int start = Math.Max(0, generated.Count - tailTokens);
        string tail = decode!(generated.GetRange(start, generated.Count - start));
        return stopTexts.Any(s => tail.Contains(s, StringComparison.Ordinal));
    }

    /// <summary>Cuts <paramref name="text"/> before the first stop text it contains.</summary>
    public string CutAtStopText(string text)
    {
        int cut = text.Length;
        foreach (string stop in stopTexts)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && at < cut) cut = at;
        }
        return text[..cut];
    }
}
