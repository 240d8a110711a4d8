using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// A padded batch of encoded texts, stored flat and row-major: the token at row <c>b</c>, position <c>t</c>
/// is at index <c>b * SequenceLength + t</c>. Plain arrays keep the tokenizer free of native memory;
/// <see cref="ToTensors"/> makes the TorchSharp tensors a model consumes.
/// </summary>
public sealed class TokenizedBatch
{
    /// <summary>Creates a batch from flat row-major arrays of <paramref name="batchSize"/> × <paramref name="sequenceLength"/> values.</summary>
    /// <param name="inputIds">Token ids.</param>
    /// <param name="attentionMask">1 for real tokens, 0 for padding.</param>
    /// <param name="tokenTypeIds">Segment ids (0 for the first text, 1 for the second text of a BERT pair).</param>
    /// <param name="batchSize">Number of rows.</param>
    /// <param name="sequenceLength">Number of positions per row.</param>
    /// <exception cref="ArgumentException">An array does not hold exactly batchSize × sequenceLength values.</exception>
    public TokenizedBatch(long[] inputIds, long[] attentionMask, long[] tokenTypeIds, int batchSize, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        ArgumentNullException.ThrowIfNull(tokenTypeIds);
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(sequenceLength);
        long expected = (long)batchSize * sequenceLength;
        Check(inputIds, nameof(inputIds), expected);
        Check(attentionMask, nameof(attentionMask), expected);
        Check(tokenTypeIds, nameof(tokenTypeIds), expected);
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenTypeIds = tokenTypeIds;
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
    }

    /// <summary>Token ids, flat row-major (BatchSize × SequenceLength).</summary>
    public long[] InputIds { get; }

    /// <summary>Attention mask, flat row-major: 1 for real tokens (special tokens included), 0 for padding.</summary>
    public long[] AttentionMask { get; }

    /// <summary>Token type (segment) ids, flat row-major: 0 for the first text, the template's second-segment id for the second.</summary>
    public long[] TokenTypeIds { get; }

    /// <summary>Number of texts (rows).</summary>
    public int BatchSize { get; }

    /// <summary>Number of positions per row after padding.</summary>
    public int SequenceLength { get; }

    /// <summary>The ids of one row, padding included.</summary>
    /// <param name="row">Row index, from 0 to BatchSize - 1.</param>
    /// <returns>A copy of that row's ids.</returns>
    public long[] Row(int row) => Slice(InputIds, row);

    /// <summary>The attention mask of one row.</summary>
    /// <param name="row">Row index, from 0 to BatchSize - 1.</param>
    /// <returns>A copy of that row's mask.</returns>
    public long[] MaskRow(int row) => Slice(AttentionMask, row);

    /// <summary>The token type ids of one row.</summary>
    /// <param name="row">Row index, from 0 to BatchSize - 1.</param>
    /// <returns>A copy of that row's token type ids.</returns>
    public long[] TokenTypeRow(int row) => Slice(TokenTypeIds, row);

    /// <summary>Number of real (non-padding) tokens in one row.</summary>
    /// <param name="row">Row index, from 0 to BatchSize - 1.</param>
    /// <returns>The sum of the row's attention mask.</returns>
    public int Length(int row) => (int)Slice(AttentionMask, row).Sum();

    /// <summary>
    /// Copies the batch into three new <c>int64</c> tensors of shape (BatchSize, SequenceLength).
    /// The caller owns them: dispose the returned object (or each tensor) when done.
    /// </summary>
    /// <param name="device">Where to put the tensors; CPU when <see langword="null"/>.</param>
    /// <returns>The input ids, attention mask and token type ids as tensors.</returns>
    public TokenizedTensors ToTensors(Device? device = null)
    {
        long[] shape = [BatchSize, SequenceLength];
        Tensor? ids = null, mask = null, types = null;
        try
        {
            ids = torch.tensor(InputIds, shape, ScalarType.Int64, device);
            mask = torch.tensor(AttentionMask, shape, ScalarType.Int64, device);
            types = torch.tensor(TokenTypeIds, shape, ScalarType.Int64, device);
            return new TokenizedTensors(ids, mask, types);
        }
        catch
        {
            // Do not leak native memory when, say, the device is unavailable after the first copy.
            ids?.Dispose();
            mask?.Dispose();
            types?.Dispose();
            throw;
        }
    }

    private long[] Slice(long[] data, int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, BatchSize);
        return data.AsSpan(row * SequenceLength, SequenceLength).ToArray();
    }

    private static void Check(long[] data, string name, long expected)
    {
        if (data.LongLength != expected)
        {
            throw new ArgumentException($"{name} holds {data.LongLength} values; expected batchSize × sequenceLength = {expected}.", name);
        }
    }
}
