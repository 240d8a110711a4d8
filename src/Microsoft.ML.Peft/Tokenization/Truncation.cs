namespace Microsoft.ML.Peft.Tokenization;

/// <summary>Truncation of token id lists to a budget, as Hugging Face's <c>longest_first</c> strategy does it.</summary>
public static class Truncation
{
    /// <summary>
    /// Drops ids from the end of <paramref name="first"/> and <paramref name="second"/> until together they fit
    /// <paramref name="budget"/>, one id at a time from the longer list (from the second one on a tie), so a short
    /// question is kept whole while a long passage is cut.
    /// </summary>
    /// <param name="first">Ids of the first text; shortened in place.</param>
    /// <param name="second">Ids of the second text, or <see langword="null"/> for a single text; shortened in place.</param>
    /// <param name="budget">Number of ids allowed for both texts together (the maximum length less the special tokens).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="budget"/> is negative.</exception>
    public static void LongestFirst(List<int> first, List<int>? second, int budget)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentOutOfRangeException.ThrowIfNegative(budget);
        int secondCount = second?.Count ?? 0;
        int excess = first.Count + secondCount - budget;
        if (excess <= 0)
        {
            return;
        }

        // Count the cuts first, then remove once: equivalent to the one-by-one loop, without O(n²) list churn.
        int a = first.Count, b = secondCount;
        for (; excess > 0; excess--)
        {
            if (a > b)
            {
                a--;
            }
            else
            {
                b--;
            }
        }

        first.RemoveRange(a, first.Count - a);
        second?.RemoveRange(b, second.Count - b);
    }
}
