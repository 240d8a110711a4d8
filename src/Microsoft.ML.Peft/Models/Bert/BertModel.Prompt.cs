using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// What a prompt-learning method (prompt tuning, P-Tuning, prefix tuning) feeds into a <see cref="BertModel"/>.
/// Set it as <see cref="BertModel.Prompt"/>; every forward then asks it for this batch's prompt.
/// </summary>
public interface IBertPrompt
{
    /// <summary>(B, n, hidden) virtual token embeddings to put before the real tokens' word embeddings, or null for none.</summary>
    Tensor? VirtualTokenEmbeddings(long batchSize);

    /// <summary>One key/value prefix per block (each (B, heads, P, head_dim)), or null for none.</summary>
    IReadOnlyList<KeyValuePrefix>? KeyValuePrefixes(long batchSize);
}

/// <summary>
/// A block's prefix keys and values (prefix tuning / P-Tuning v2), each (B, heads, P, head_dim). Attention sees
/// P + T keys; the P prefix keys are never masked.
/// </summary>
/// <param name="Key">(B, heads, P, head_dim) keys, already split into heads.</param>
/// <param name="Value">(B, heads, P, head_dim) values.</param>
public sealed record KeyValuePrefix(Tensor Key, Tensor Value)
{
    /// <summary>Prepends the prefix to (B, heads, T, head_dim) keys and values and opens the mask (B, 1, 1 or T, T) for it.</summary>
    internal (Tensor Keys, Tensor Values, Tensor? Mask) Prepend(Tensor keys, Tensor values, Tensor? mask)
    {
        var k = cat(new[] { Key.to(keys.dtype), keys }, 2);    // (B, heads, P + T, head_dim)
        var v = cat(new[] { Value.to(values.dtype), values }, 2);
        if (mask is null) return (k, v, null);
        using var open = ones(mask.shape[0], mask.shape[1], mask.shape[2], Key.shape[2], dtype: ScalarType.Bool, device: mask.device);
        return (k, v, cat(new[] { open, mask }, 3));            // (B, 1, 1 or T, P + T)
    }
}

public sealed partial class BertModel
{
    /// <summary>
    /// The prompt-learning method acting on this encoder, or null (the plain model). Set by the methods in
    /// <c>Methods/PromptTuning</c>, <c>PTuning</c> and <c>PrefixTuning</c>; the forward without a prompt is unchanged.
    /// </summary>
    public IBertPrompt? Prompt { get; set; }

    /// <summary>
    /// The forward with a prompt, as Hugging Face PEFT runs it: virtual tokens go before the whole input (so before
    /// [CLS]; the pooler and RoBERTa's head then read virtual token 0), the attention mask gains n ones in front and the
    /// token types n zeros; prefixes are handed to every block. Returns (B, n + T, hidden), or (B, 1, hidden) with
    /// <paramref name="firstTokenOnly"/>, with <see cref="BertOutput.VirtualTokens"/> = n.
    /// </summary>
    BertOutput PromptedForward(IBertPrompt prompt, Tensor inputIds, Tensor? attentionMask, Tensor? tokenTypeIds, bool firstTokenOnly)
    {
        long batch = inputIds.shape[0];
        var device = inputIds.device;
        using var scope = NewDisposeScope();
        var virtualTokens = prompt.VirtualTokenEmbeddings(batch);  // (B, n, hidden) or null
        int n = virtualTokens is null ? 0 : (int)virtualTokens.shape[1];
        Tensor hidden;
        if (virtualTokens is null)
        {
            hidden = embeddings.forward(inputIds, tokenTypeIds);
        }
        else
        {
            var words = embeddings.WordEmbeddings.forward(inputIds);                    // (B, T, hidden)
            var embeds = cat(new[] { virtualTokens.to(words.dtype), words }, 1);       // (B, n + T, hidden)
            // Ids only for counting positions: a non-padding id in the n virtual slots. BERT counts 0..n+T-1; RoBERTa
            // counts from pad+1 over virtual and real tokens alike, which equals HF's inputs_embeds positions for
            // right-padded batches (padded slots are masked keys either way).
            long filler = Config.PadTokenId == 0 ? 1 : 0;
            var ids = cat(new[] { full(batch, n, filler, dtype: ScalarType.Int64, device: device), inputIds }, 1);
            var types = tokenTypeIds is null ? null
                : cat(new[] { zeros(batch, n, dtype: tokenTypeIds.dtype, device: device), tokenTypeIds }, 1);
            if (attentionMask is not null)
                attentionMask = cat(new[] { ones(batch, n, dtype: attentionMask.dtype, device: device), attentionMask }, 1);
            hidden = embeddings.forward(ids, types, embeds);
        }
        var mask = attentionMask is null ? null : KeyMask(attentionMask);
        hidden = encoder.forward(hidden, mask, prompt.KeyValuePrefixes(batch), firstTokenOnly);
        var pooled = pooler?.forward(hidden);
        return new BertOutput(hidden.MoveToOuterDisposeScope(), pooled?.MoveToOuterDisposeScope()) { VirtualTokens = n, FirstTokenOnly = firstTokenOnly };
    }
}
