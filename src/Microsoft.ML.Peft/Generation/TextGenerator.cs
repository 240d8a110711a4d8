using System.Runtime.CompilerServices;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// Continues prompts with a causal language model: greedy search, sampling (temperature, top-k, top-p, seed),
/// repetition penalty and beam search, over left-padded batches with a KV cache, plus streaming of one prompt.
/// The model should be in evaluation mode (<c>model.eval()</c>), or dropout makes every run differ.
/// </summary>
public sealed class TextGenerator
{
    readonly ICausalLM model;
    readonly ITextEncoder? tokenizer;

    /// <summary>Creates a generator.</summary>
    /// <param name="model">The language model.</param>
    /// <param name="tokenizer">Its tokenizer; needed for text prompts and stop texts, not for <see cref="GenerateIds"/>.</param>
    public TextGenerator(ICausalLM model, ITextEncoder? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /// <summary>Generates a continuation of one prompt.</summary>
    /// <returns>The generated text, without the prompt, special tokens or stop text.</returns>
    public string Generate(string prompt, GenerationOptions? options = null) => Generate(new[] { prompt }, options)[0];

    /// <summary>Generates continuations of several prompts in one left-padded batch.</summary>
    /// <returns>One generated text per prompt, without the prompt, special tokens or stop text.</returns>
    public IReadOnlyList<string> Generate(IReadOnlyList<string> prompts, GenerationOptions? options = null)
    {
        options ??= new GenerationOptions();
        var ids = GenerateIds(Encode(prompts), options);
        var stop = Stops(options);
        return ids.Select(row => stop.CutAtStopText(Tokenizer.Decode(row))).ToArray();
    }

    /// <summary>Generates continuations of tokenized prompts (special tokens such as BOS already included).</summary>
    /// <param name="prompts">One id list per prompt; none may be empty.</param>
    /// <param name="options">How to generate; defaults when null.</param>
    /// <returns>Per prompt, the generated ids, ending with the end-of-sequence or stop id when one was produced.</returns>
    public IReadOnlyList<int[]> GenerateIds(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions? options = null)
    {
        options ??= new GenerationOptions();
        Validate(prompts, options);
        var stop = Stops(options);
        if (options.NumBeams > 1) return BeamSearchDecoder.Run(model, prompts, options, stop, PadId(options));
        using var decoder = new SamplingDecoder(model, prompts, options, stop, PadId(options));
        while (!decoder.Done) decoder.Step();
        return decoder.Generated.Select(g => g.ToArray()).ToArray();
    }

    /// <summary>
    /// Streams the continuation of one prompt as text pieces, as soon as each is certain (complete characters,
    /// not possibly the start of a stop text). Greedy or sampling; beam search cannot stream.
    /// </summary>
    public async IAsyncEnumerable<string> GenerateStreamAsync(string prompt, GenerationOptions? options = null,
                                                              [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        if (options.NumBeams > 1)
            throw new NotSupportedException($"GenerationOptions.NumBeams = {options.NumBeams}: beam search cannot stream (the best beam is known only at the end); use Generate.");
        var prompts = Encode(new[] { prompt });
        Validate(prompts, options);
        var stop = Stops(options);
        var streamer = new TextStreamer(ids => Tokenizer.Decode(ids), stop, options.StopSequences);
        using var decoder = new SamplingDecoder(model, prompts, options, stop, PadId(options));
        while (!decoder.Done)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Each step runs synchronously between awaits: its dispose scope and no_grad never cross threads.
            decoder.Step();
            string piece = streamer.Next(decoder.Generated[0], decoder.Done);
            if (piece.Length > 0) yield return piece;
            await Task.Yield();
        }
    }

    ITextEncoder Tokenizer => tokenizer ?? throw new InvalidOperationException("This TextGenerator has no tokenizer; pass one to its constructor to generate from text.");

    IReadOnlyList<IReadOnlyList<int>> Encode(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        for (int i = 0; i < prompts.Count; i++)
            if (string.IsNullOrEmpty(prompts[i])) throw new ArgumentException($"Prompt {i} is empty; give at least one character to continue.", nameof(prompts));
        return prompts.Select(p => Tokenizer.EncodeToIds(p, addSpecialTokens: true)).ToArray();
    }

    void Validate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        options.Validate();
        if (prompts.Count == 0) throw new ArgumentException("No prompts given.", nameof(prompts));
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is null || prompts[i].Count == 0) throw new ArgumentException($"Prompt {i} is empty (no token ids).", nameof(prompts));
            if (prompts[i].Count + options.MaxNewTokens > model.MaxPositions)
                throw new ArgumentException(
                    $"Prompt {i} has {prompts[i].Count} tokens; with GenerationOptions.MaxNewTokens = {options.MaxNewTokens} that exceeds the model's context of {model.MaxPositions} positions.",
                    nameof(prompts));
            foreach (int id in prompts[i])
                if (id < 0 || id >= model.VocabSize) throw new ArgumentException($"Prompt {i} holds id {id}, outside the vocabulary of {model.VocabSize}.", nameof(prompts));
        }
    }

    IReadOnlyList<int> EosIds(GenerationOptions options)
    {
        if (options.EosTokenIds is { } explicitIds) return explicitIds;
        if (model.EosTokenIds.Count > 0) return model.EosTokenIds;
        return tokenizer?.SpecialTokens.Eos is int eos ? new[] { eos } : Array.Empty<int>();
    }

    int PadId(GenerationOptions options) =>
        options.PadTokenId ?? model.PadTokenId ?? tokenizer?.SpecialTokens.Pad ?? EosIds(options).FirstOrDefault();

    StopConditions Stops(GenerationOptions options) =>
        new(EosIds(options).Concat(options.StopTokenIds), options.StopSequences, tokenizer is null ? null : ids => tokenizer.Decode(ids));
}
