using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>One training sequence: its ids and, per id, the label (the id itself, or −100 where no loss is wanted).</summary>
/// <param name="Ids">Token ids.</param>
/// <param name="Labels">Labels, as long as <paramref name="Ids"/>.</param>
public sealed record CausalLmExample(long[] Ids, long[] Labels);

/// <summary>
/// Turns text rows into causal-LM training sequences and pads them into batches: the one place that decides which
/// tokens carry a loss, shared by training and perplexity evaluation.
/// </summary>
public static class CausalLmExamples
{
    /// <summary>
    /// A document split into windows of at most <paramref name="maxLength"/> tokens, end-of-text appended to the
    /// last; every token is labelled. An empty text gives no window.
    /// </summary>
    public static IEnumerable<CausalLmExample> FromText(TransformerTokenizer tokenizer, string text, int maxLength)
    {
        if (string.IsNullOrEmpty(text)) yield break;
        var ids = WithEos(tokenizer, tokenizer.EncodeToIds(text).Select(i => (long)i)).ToArray();   // BOS too where the model uses one (LLaMA)
        for (int start = 0; start < ids.Length; start += maxLength)
        {
            var window = ids.AsSpan(start, Math.Min(maxLength, ids.Length - start)).ToArray();
            if (window.Length >= 2) yield return new CausalLmExample(window, (long[])window.Clone());
        }
    }

    /// <summary>
    /// Prompt + completion + end-of-text, with the prompt's labels −100 so only the completion is learned.
    /// Too long a sequence loses completion tokens from its end; a prompt that alone fills
    /// <paramref name="maxLength"/> keeps its last tokens and one completion token.
    /// </summary>
    /// <returns>The example, or null when the completion is empty (nothing to learn).</returns>
    public static CausalLmExample? FromPromptCompletion(TransformerTokenizer tokenizer, string prompt, string completion, int maxLength)
    {
        var p = tokenizer.EncodeToIds(prompt ?? "").Select(i => (long)i).ToList();
        var c = WithEos(tokenizer, tokenizer.EncodeToIds(completion ?? "", addSpecialTokens: false).Select(i => (long)i)).ToList();
        if (c.Count == 1 && string.IsNullOrEmpty(completion)) return null;
        if (p.Count >= maxLength) p = p.Skip(p.Count - (maxLength - 1)).ToList();
        if (p.Count + c.Count > maxLength) c = c.Take(maxLength - p.Count).ToList();
        var ids = p.Concat(c).ToArray();
        var labels = Enumerable.Repeat(CausalLmLoss.IgnoreIndex, p.Count).Concat(c).ToArray();
        return new CausalLmExample(ids, labels);
    }

    static IEnumerable<long> WithEos(TransformerTokenizer tokenizer, IEnumerable<long> ids)
    {
        var list = ids.ToList();
        // The end-of-text token teaches the model where a document or completion stops.
        if (tokenizer.SpecialTokens.Eos is int eos && (list.Count == 0 || list[^1] != eos)) list.Add(eos);
        return list;
    }

    /// <summary>Right-pads examples into (B, T) int64 ids, 0/1 mask and labels (−100 on padding).</summary>
    public static (Tensor Ids, Tensor Mask, Tensor Labels) Collate(IReadOnlyList<CausalLmExample> examples, long padId)
    {
        if (examples.Count == 0) throw new ArgumentException("A batch needs at least one example.", nameof(examples));
        int b = examples.Count, t = examples.Max(e => e.Ids.Length);
        var ids = new long[b * t];
        var mask = new long[b * t];
        var labels = new long[b * t];
        Array.Fill(ids, padId);
        Array.Fill(labels, CausalLmLoss.IgnoreIndex);
        for (int i = 0; i < b; i++)
        {
            var e = examples[i];
            e.Ids.CopyTo(ids, i * t);
            e.Labels.CopyTo(labels, i * t);
            Array.Fill(mask, 1L, i * t, e.Ids.Length);
        }
        long[] shape = { b, t };
        return (torch.tensor(ids, shape), torch.tensor(mask, shape), torch.tensor(labels, shape));
    }
}
