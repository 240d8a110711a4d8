using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// The attention mask and position ids a causal decoder derives from a (B, S) 0/1 padding mask, shared by GPT-2
/// and LLaMA. Prompts are padded on the left for generation, so a row's real tokens do not start at column 0.
/// </summary>
public static class DecoderMasks
{
    /// <summary>
    /// Boolean attention mask, true where query <c>i</c> may attend key <c>j</c>: keys at or before the query's
    /// absolute position (<c>past + i</c>) that are not padding. A query also always sees itself: a padding query
    /// would otherwise see no key at all, and the resulting NaN would reach real rows through <c>0 × NaN</c> in
    /// later layers. Real tokens never attend to padding, so this changes nothing they compute.
    /// </summary>
    /// <param name="attentionMask">(B, S) 1 for real tokens, 0 for padding, over cached and new tokens; null when nothing is padded.</param>
    /// <param name="queryLength">T, the number of new tokens (the last T of the S keys).</param>
    /// <param name="keyLength">S = cached + new tokens.</param>
    /// <param name="device">Where to build it.</param>
    /// <param name="slidingWindow">Mistral: a query sees only the last this-many positions (itself included); null for all.</param>
    /// <returns>(B or 1, 1, T, S) boolean mask; the caller owns it.</returns>
    public static Tensor Causal(Tensor? attentionMask, long queryLength, long keyLength, Device device, int? slidingWindow = null)
    {
        using var scope = NewDisposeScope();
        long past = keyLength - queryLength;
        var queryPositions = arange(past, keyLength, dtype: ScalarType.Int64, device: device).unsqueeze(1);  // (T, 1)
        var keyPositions = arange(0, keyLength, dtype: ScalarType.Int64, device: device).unsqueeze(0);       // (1, S)
        var causal = keyPositions.le(queryPositions);                                                        // (T, S)
        if (slidingWindow is int window) causal = causal.logical_and(keyPositions.gt(queryPositions - window));
        Tensor allowed = causal.view(1, 1, queryLength, keyLength);
        if (attentionMask is not null)
        {
            if (attentionMask.shape[1] != keyLength)
                throw new ArgumentException($"attentionMask covers {attentionMask.shape[1]} positions but there are {keyLength} keys (cached + new).", nameof(attentionMask));
            var keys = attentionMask.to(ScalarType.Bool).to(device).view(attentionMask.shape[0], 1, 1, keyLength);  // (B, 1, 1, S)
            var self = keyPositions.eq(queryPositions).view(1, 1, queryLength, keyLength);
            allowed = allowed.logical_and(keys).logical_or(self);                                              // (B, 1, T, S)
        }
        return allowed.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Position ids of the new tokens. Without a mask they continue from the cache: <c>past, past+1, …</c>.
    /// With a mask they count real tokens only (<c>cumsum(mask) - 1</c>, padding set to 1 as Hugging Face's
    /// <c>generate</c> does), so a left-padded prompt gets the same positions as the prompt alone.
    /// </summary>
    /// <param name="attentionMask">(B, S) 0/1 mask over cached and new tokens, or null.</param>
    /// <param name="batch">B.</param>
    /// <param name="queryLength">T, number of new tokens.</param>
    /// <param name="past">Number of cached tokens.</param>
    /// <param name="device">Where to build them.</param>
    /// <returns>(B, T) int64 positions; the caller owns them.</returns>
    public static Tensor PositionIds(Tensor? attentionMask, long batch, long queryLength, long past, Device device)
    {
        using var scope = NewDisposeScope();
        Tensor positions;
        if (attentionMask is null)
        {
            positions = arange(past, past + queryLength, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(batch, queryLength);
        }
        else
        {
            var mask = attentionMask.to(ScalarType.Int64).to(device);
            var counted = mask.cumsum(1) - 1;
            counted = counted.masked_fill(mask.eq(0), 1);
            long total = mask.shape[1];
            positions = counted.narrow(1, total - queryLength, queryLength);
        }
        return positions.contiguous().MoveToOuterDisposeScope();
    }
}
