namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// The finished candidates of one prompt in beam search: at most <c>num_beams</c>, each scored by its summed
/// log-probability divided by (generated length)^<c>length_penalty</c>.
/// </summary>
internal sealed class BeamHypotheses
{
    readonly int capacity;
    readonly double lengthPenalty;
    readonly bool earlyStopping;
    readonly List<(double Score, int[] Tokens)> kept = new();

    public BeamHypotheses(int capacity, double lengthPenalty, bool earlyStopping)
    {
        this.capacity = capacity;
        this.lengthPenalty = lengthPenalty;
        this.earlyStopping = earlyStopping;
    }

    public bool IsDone { get; private set; }

    double Normalized(double sumLogProbs, int length) => sumLogProbs / Math.Pow(Math.Max(length, 1), lengthPenalty);

    /// <summary>Adds a finished candidate, dropping the worst one beyond capacity.</summary>
    public void Add(int[] tokens, double sumLogProbs)
    {
        double score = Normalized(sumLogProbs, tokens.Length);
        if (kept.Count == capacity && score <= kept.Min(k => k.Score)) return;
        kept.Add((score, tokens));
        if (kept.Count > capacity) kept.RemoveAt(kept.FindIndex(k => k.Score == kept.Min(m => m.Score)));
    }

    /// <summary>
    /// Marks the prompt done when it has enough candidates and (early stopping, or) the best running beam, at
    /// its current length, cannot beat the worst kept candidate any more.
    /// </summary>
    public void Update(double bestRunningSumLogProbs, int generatedLength)
    {
        if (IsDone || kept.Count < capacity) return;
        IsDone = earlyStopping || kept.Min(k => k.Score) >= Normalized(bestRunningSumLogProbs, generatedLength);
    }

    /// <summary>The best candidate (ties: the one found first).</summary>
    public int[] Best()
    {
        var best = kept[0];
        foreach (var k in kept) if (k.Score > best.Score) best = k;
        return best.Tokens;
    }
}
