namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// How <see cref="TextGenerator"/> continues a prompt. Defaults: greedy decoding of up to 32 new tokens.
/// Names and semantics follow Hugging Face's <c>GenerationConfig</c> (<c>max_new_tokens</c>, <c>do_sample</c>,
/// <c>temperature</c>, <c>top_k</c>, <c>top_p</c>, <c>repetition_penalty</c>, <c>num_beams</c>,
/// <c>length_penalty</c>, <c>early_stopping</c>).
/// </summary>
public sealed class GenerationOptions
{
    /// <summary>Most tokens to generate per prompt (<c>max_new_tokens</c>); must be positive.</summary>
    public int MaxNewTokens { get; set; } = 32;

    /// <summary>Sample from the (processed) distribution instead of taking the most likely token.</summary>
    public bool DoSample { get; set; }

    /// <summary>Divides the logits before sampling; below 1 sharpens, above 1 flattens. Must be positive when sampling.</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Keep only the k most likely tokens when sampling; 0 keeps all. Default 50, as in Hugging Face.</summary>
    public int TopK { get; set; } = 50;

    /// <summary>Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches p; in (0, 1], 1 keeps all.</summary>
    public double TopP { get; set; } = 1.0;

    /// <summary>
    /// Penalizes tokens already in the prompt or the output (Hugging Face semantics: a positive logit is divided by
    /// the penalty, a negative one multiplied); 1 disables it. Must be positive.
    /// </summary>
    public double RepetitionPenalty { get; set; } = 1.0;

    /// <summary>Seed of the sampler's random generator; the same seed gives the same samples. A fresh seed each call when null.</summary>
    public long? Seed { get; set; }

    /// <summary>Number of beams of beam search; 1 is greedy search (or sampling). Must be at least 1.</summary>
    public int NumBeams { get; set; } = 1;

    /// <summary>Beam search: a finished beam's score is its summed log-probability divided by (generated length)^LengthPenalty; above 0 favours longer outputs.</summary>
    public double LengthPenalty { get; set; } = 1.0;

    /// <summary>Beam search: stop a prompt as soon as <see cref="NumBeams"/> finished candidates exist, instead of when no better one can appear.</summary>
    public bool EarlyStopping { get; set; }

    /// <summary>
    /// Texts that end generation once the generated text contains one of them. The returned text is cut before
    /// the stop text (the ids keep the token that completed it).
    /// </summary>
    public IReadOnlyList<string> StopSequences { get; set; } = Array.Empty<string>();

    /// <summary>Token ids that end generation (in addition to <see cref="EosTokenIds"/>); the id is kept in the output ids.</summary>
    public IReadOnlyList<int> StopTokenIds { get; set; } = Array.Empty<int>();

    /// <summary>End-of-sequence ids; the model's <c>eos_token_id</c> (and then the tokenizer's) when null.</summary>
    public IReadOnlyList<int>? EosTokenIds { get; set; }

    /// <summary>Id written into finished rows and left padding; the model's or tokenizer's padding id, else the first EOS id, when null.</summary>
    public int? PadTokenId { get; set; }

    /// <summary>Reuse keys and values of earlier tokens (a KV cache); false recomputes the whole sequence each step (for checking).</summary>
    public bool UseCache { get; set; } = true;

    /// <summary>Checks the options that do not depend on the prompt; throws naming the option and its value.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    public void Validate()
    {
        if (MaxNewTokens <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, $"GenerationOptions.MaxNewTokens must be positive, not {MaxNewTokens}.");
        if (DoSample && !(Temperature > 0 && double.IsFinite(Temperature)))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, $"GenerationOptions.Temperature must be positive and finite when sampling, not {Temperature}.");
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, $"GenerationOptions.TopP must be in (0, 1], not {TopP}.");
        if (TopK < 0)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, $"GenerationOptions.TopK must be 0 (off) or positive, not {TopK}.");
        if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty))
            throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, $"GenerationOptions.RepetitionPenalty must be positive and finite (1 disables it), not {RepetitionPenalty}.");
        if (NumBeams < 1)
            throw new ArgumentOutOfRangeException(nameof(NumBeams), NumBeams, $"GenerationOptions.NumBeams must be at least 1, not {NumBeams}.");
        if (NumBeams > 1 && DoSample)
            throw new NotSupportedException($"GenerationOptions: beam sampling (NumBeams = {NumBeams} with DoSample = true) is not supported; use one or the other.");
        if (double.IsNaN(LengthPenalty) || double.IsInfinity(LengthPenalty))
            throw new ArgumentOutOfRangeException(nameof(LengthPenalty), LengthPenalty, $"GenerationOptions.LengthPenalty must be finite, not {LengthPenalty}.");
        if (StopSequences is null || StopSequences.Any(string.IsNullOrEmpty))
            throw new ArgumentException("GenerationOptions.StopSequences must not be null or hold an empty text.", nameof(StopSequences));
        if (StopTokenIds is null) throw new ArgumentException("GenerationOptions.StopTokenIds must not be null.", nameof(StopTokenIds));
    }
}
