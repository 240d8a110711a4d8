namespace Microsoft.ML.Peft.MLNet.Toy;

/// <summary>
/// The arithmetic of the toy keyword classifier (a multinomial naive Bayes over a small keyword list): state is
/// one float blob of shape [classes, keywords + 1], the last column holding each class's log prior.
/// Stateless after construction, so safe to score from several threads at once.
/// </summary>
internal sealed class KeywordModel
{
    public KeywordModel(string[] keywords, int classCount, float[] weights)
    {
        if (weights.Length != classCount * (keywords.Length + 1))
            throw new ArgumentException($"Expected {classCount} x {keywords.Length + 1} weights, got {weights.Length}.", nameof(weights));
        Keywords = keywords;
        ClassCount = classCount;
        Weights = weights;
        _index = keywords.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i, StringComparer.Ordinal);
    }

    readonly Dictionary<string, int> _index;

    public string[] Keywords { get; }
    public int ClassCount { get; }
    public float[] Weights { get; }

    /// <summary>Lower-cased runs of letters and digits.</summary>
    public static IEnumerable<string> Tokenize(string text)
    {
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0) start = i;
            else if (!inWord && start >= 0)
            {
                yield return text[start..i].ToLowerInvariant();
                start = -1;
            }
        }
    }

    /// <summary>Class probabilities of one text: softmax of log prior plus summed keyword log likelihoods.</summary>
    public float[] Score(string text)
    {
        int stride = Keywords.Length + 1;
        var logits = new double[ClassCount];
        for (int c = 0; c < ClassCount; c++)
            logits[c] = Weights[c * stride + Keywords.Length];
        foreach (var token in Tokenize(text))
            if (_index.TryGetValue(token, out int k))
                for (int c = 0; c < ClassCount; c++)
                    logits[c] += Weights[c * stride + k];
        double max = logits.Max(), sum = 0;
        for (int c = 0; c < ClassCount; c++)
            sum += logits[c] = Math.Exp(logits[c] - max);
        return logits.Select(l => (float)(l / sum)).ToArray();
    }

    /// <summary>
    /// Fits the model: the <paramref name="maxKeywords"/> most frequent tokens become keywords; weights are
    /// Laplace-smoothed log frequencies per class; priors are log class frequencies.
    /// </summary>
    public static KeywordModel Train(IReadOnlyList<(string Text, int Class)> rows, int classCount, int maxKeywords)
    {
        var tokenized = rows.Select(r => (Tokens: Tokenize(r.Text).ToList(), r.Class)).ToList();
        var keywords = tokenized.SelectMany(r => r.Tokens).GroupBy(t => t, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(maxKeywords).Select(g => g.Key).ToArray();
        var index = keywords.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i, StringComparer.Ordinal);

        int stride = keywords.Length + 1;
        var counts = new double[classCount * stride];
        var docs = new double[classCount];
        foreach (var (tokens, c) in tokenized)
        {
            docs[c]++;
            foreach (var token in tokens)
                if (index.TryGetValue(token, out int k))
                    counts[c * stride + k]++;
        }

        var weights = new float[classCount * stride];
        for (int c = 0; c < classCount; c++)
        {
            double total = 0;
            for (int k = 0; k < keywords.Length; k++) total += counts[c * stride + k];
            for (int k = 0; k < keywords.Length; k++)
                weights[c * stride + k] = (float)Math.Log((counts[c * stride + k] + 1) / (total + keywords.Length));
            weights[c * stride + keywords.Length] = (float)Math.Log((docs[c] + 1) / (rows.Count + classCount));
        }
        return new KeywordModel(keywords, classCount, weights);
    }
}
