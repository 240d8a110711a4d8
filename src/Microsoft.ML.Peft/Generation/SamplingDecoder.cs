using Microsoft.ML.Peft.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// Greedy search and sampling over a left-padded batch, one token per <see cref="Step"/> so that streaming can
/// hand out each token as it comes. Each step runs in its own dispose scope; only the running ids, mask and the
/// KV cache outlive it (they are detached from the scope and replaced, not accumulated).
/// Finished rows keep being computed (the batch stays rectangular) but receive the padding id.
/// </summary>
internal sealed class SamplingDecoder : IDisposable
{
    readonly ICausalLM model;
    readonly GenerationOptions options;
    readonly StopConditions stop;
    readonly KvCache? cache;
    readonly Generator? generator;
    readonly int padId;
    readonly bool[] finished;
    Tensor ids, mask;           // (B, L + steps) prompt and generated ids, 0/1 mask
    int steps;

    public SamplingDecoder(ICausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, StopConditions stop, int padId)
    {
        this.model = model;
        this.options = options;
        this.stop = stop;
        this.padId = padId;
        (ids, mask) = PromptBatch.LeftPadded(prompts, padId, model.Device);
        ids.DetachFromDisposeScope();
        mask.DetachFromDisposeScope();
        finished = new bool[prompts.Count];
        Generated = prompts.Select(_ => new List<int>()).ToArray();
        if (options.UseCache) cache = new KvCache(model.NumLayers);
        if (options.DoSample)
        {
            // A generator of our own: a fixed seed reproduces the samples whatever else uses torch's global one.
            ulong seed = options.Seed is long s ? unchecked((ulong)s) : (ulong)Random.Shared.NextInt64();
            generator = new Generator(seed, model.Device);
        }
    }

    /// <summary>The tokens generated so far per row, ending with the stop token of a finished row.</summary>
    public List<int>[] Generated { get; }

    /// <summary>Whether every row is finished or the token budget is spent.</summary>
    public bool Done => steps >= options.MaxNewTokens || finished.All(f => f);

    /// <summary>Generates one token per unfinished row.</summary>
    /// <returns>The new token of each row, or null for a row finished before this step.</returns>
    public int?[] Step()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long batch = ids.shape[0];
        // With a cache only the newest column runs (the whole prompt on the first step); without one, everything.
        var input = cache is not null && steps > 0 ? ids.narrow(1, ids.shape[1] - 1, 1) : ids;
        var last = model.LastLogits(input, mask, null, cache).to(ScalarType.Float32);              // (B, V)
        last = LogitsProcessor.RepetitionPenalty(last, ids, mask, options.RepetitionPenalty);
        Tensor next;
        if (options.DoSample)
        {
            var probs = LogitsProcessor.ForSampling(last, options).softmax(1);
            next = probs.multinomial(1, false, generator).squeeze(1);                              // (B)
        }
        else
        {
            next = last.argmax(1);                                                                 // (B)
        }

        long[] chosen = next.cpu().data<long>().ToArray();
        var result = new int?[batch];
        for (int row = 0; row < batch; row++)
        {
            if (finished[row]) { chosen[row] = padId; continue; }
            int token = (int)chosen[row];
            result[row] = token;
            Generated[row].Add(token);
            finished[row] = stop.IsFinished(Generated[row]);
        }
        steps++;

        var column = torch.tensor(chosen, new long[] { batch, 1 }, ScalarType.Int64, ids.device);
        Replace(ref ids, torch.cat(new[] { ids, column }, 1));
        Replace(ref mask, torch.cat(new[] { mask, ones_like(column) }, 1));
        return result;
    }

    static void Replace(ref Tensor field, Tensor next)
    {
        next.DetachFromDisposeScope();
        field.Dispose();
        field = next;
    }

    public void Dispose()
    {
        ids.Dispose();
        mask.Dispose();
        cache?.Dispose();
        generator?.Dispose();
    }
}
