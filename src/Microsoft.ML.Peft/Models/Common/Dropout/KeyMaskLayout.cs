using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Common;

/// <summary>
/// A boolean key mask the forward kernel applies while it reads the scores (true = may attend; a masked score becomes
/// <paramref name="MaskedScore"/>), laid out as (B or 1, 1, T or 1, S) over scores of (B, heads, T, S): row r of the
/// scores (batch b = r / (heads · T), query t = r mod T) reads the S bytes at Address + b · BatchStride + t · QueryStride.
/// </summary>
internal readonly record struct KeyMaskLayout(IntPtr Address, long BatchStride, long QueryStride, int Heads, int Queries, float MaskedScore)
{
    /// <summary>
    /// The layout of <paramref name="mask"/> (contiguous CPU bool) for 4-D <paramref name="scores"/>, or null when the
    /// mask has another shape (per head, say) and has to be applied by <c>masked_fill</c> instead.
    /// </summary>
    public static KeyMaskLayout? Describe(Tensor mask, Tensor scores, float maskedScore)
    {
        if (scores.dim() != 4 || mask.dim() != 4 || mask.dtype != ScalarType.Bool || mask.device_type != DeviceType.CPU || !mask.is_contiguous()) return null;
        long batch = scores.shape[0], heads = scores.shape[1], queries = scores.shape[2], keys = scores.shape[3];
        if (mask.shape[1] != 1 || mask.shape[3] != keys || mask.shape[0] is var b && b != 1 && b != batch
            || mask.shape[2] is var t && t != 1 && t != queries) return null;
        unsafe
        {
            fixed (byte* address = mask.bytes)
                return new KeyMaskLayout((IntPtr)address, mask.shape[0] == 1 ? 0 : mask.shape[2] * keys,
                                         mask.shape[2] == 1 ? 0 : keys, (int)heads, (int)queries, maskedScore);
        }
    }

    /// <summary>The first mask byte of scores row <paramref name="row"/>.</summary>
    public unsafe byte* Row(long row)
    {
        long batch = row / ((long)Heads * Queries), query = row % Queries;
        return (byte*)Address + batch * BatchStride + query * QueryStride;
    }
}
