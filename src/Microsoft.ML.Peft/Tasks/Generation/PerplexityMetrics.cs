namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>Language-model quality on a data set: perplexity = exp(mean next-token negative log-likelihood).</summary>
/// <param name="Perplexity">exp(<paramref name="MeanNegativeLogLikelihood"/>); lower is better, 1 is perfect.</param>
/// <param name="MeanNegativeLogLikelihood">Mean −ln p(token) over the scored tokens, in nats.</param>
/// <param name="TokenCount">How many tokens were scored (labelled tokens after the first of each sequence).</param>
public sealed record PerplexityMetrics(double Perplexity, double MeanNegativeLogLikelihood, long TokenCount)
{
    /// <summary>Metrics from a summed NLL and a token count.</summary>
    /// <exception cref="InvalidOperationException">No token was scored.</exception>
    public static PerplexityMetrics FromSum(double nll, long tokens) => tokens > 0
        ? new PerplexityMetrics(Math.Exp(nll / tokens), nll / tokens, tokens)
        : throw new InvalidOperationException("No token to score: the data has no non-empty text.");
}
