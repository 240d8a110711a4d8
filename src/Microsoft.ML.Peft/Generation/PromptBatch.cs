using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// Prompts of different lengths padded on the left into one (B, L) batch, so that every row's last column is
/// its last real token and the next token of every row lands in the same new column.
/// </summary>
internal static class PromptBatch
{
    /// <summary>Builds the (B, L) ids and 0/1 mask; the caller owns both tensors.</summary>
    public static (Tensor Ids, Tensor Mask) LeftPadded(IReadOnlyList<IReadOnlyList<int>> prompts, int padId, Device device)
    {
        int length = prompts.Max(p => p.Count);
        var ids = new long[prompts.Count * length];
        var mask = new long[prompts.Count * length];
        Array.Fill(ids, padId);
        for (int row = 0; row < prompts.Count; row++)
        {
            int offset = row * length + length - prompts[row].Count;
            for (int t = 0; t < prompts[row].Count; t++)
            {
                ids[offset + t] = prompts[row][t];
                mask[offset + t] = 1;
            }
        }
        long[] shape = { prompts.Count, length };
        return (torch.tensor(ids, shape, ScalarType.Int64, device), torch.tensor(mask, shape, ScalarType.Int64, device));
    }
}
