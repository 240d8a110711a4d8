using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Common;

/// <summary>Scaled dot-product attention as every model of this library computes it.</summary>
public static class AttentionKernel
{
    /// <summary>
    /// softmax(q kᵀ / √d + mask) v, with attention-probability dropout <paramref name="dropout"/> when
    /// <paramref name="training"/>.
    /// </summary>
    /// <remarks>
    /// For inference this is libtorch's fused kernel, which never materialises the (B, heads, T, S) probabilities. For
    /// training with dropout on the CPU the fused kernel is unavailable and libtorch's fallback samples its mask element
    /// by element (about 100 ms per MiniLM layer at 16 × 128 in bf16); here the probabilities are materialised once. In
    /// fp32 and bf16 the softmax and the dropout then run as one autograd node (<see cref="DropoutAttentionFunction"/>),
    /// which keeps only the probabilities for backward and recomputes the mask from its seed: 61 MiB less peak memory for
    /// LoRA over bf16 MiniLM at batch 16 × 128, and its softmax-dropout pass (2.6 ms forward, 1.6 ms backward there) is
    /// faster than libtorch's softmax alone. Other types drop out with <see cref="FastDropout"/>.
    /// A fully masked query row (a left-padding position) attends uniformly rather than producing NaN, as in Hugging
    /// Face's eager attention; such rows never reach a loss.
    /// </remarks>
    /// <param name="q">(B, heads, T, d) queries.</param>
    /// <param name="k">(B, heads, S, d) keys.</param>
    /// <param name="v">(B, heads, S, d) values.</param>
    /// <param name="mask">Boolean, broadcastable to (B, heads, T, S), true where a key may be attended to; null for all.</param>
    /// <param name="dropout">Attention-probability dropout.</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <returns>(B, heads, T, d).</returns>
    public static Tensor ScaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor? mask, double dropout, bool training)
    {
        if (!MaterialiseOnCpu(q, k, dropout, training))
            return nn.functional.scaled_dot_product_attention(q, k, v, mask, training ? dropout : 0.0, false);
        using var scope = NewDisposeScope();
        // Every elementwise pass over the (B, heads, T, S) scores costs about as much as the layer's matmuls in bf16, so an
        // all-true mask is skipped, the fused node applies scale and mask as it reads the scores, and otherwise the 1/√d
        // scale goes on q (T·d elements, not T·S) and the mask is filled in place.
        double scale = 1.0 / Math.Sqrt(q.shape[^1]);
        if (mask is not null && mask.all().item<bool>()) mask = null;
        if (dropout > 0 && UseFusedKernel && FusedKernelCovers(q, k, v))
            return DropoutAttentionFunction.apply(q, k, v, new DropoutAttentionFunction.Settings(mask, dropout, LowestFinite(q.dtype), scale))
                                           .MoveToOuterDisposeScope();
        var scores = matmul(q.mul(scale), k.transpose(-1, -2));  // (B, heads, T, S)
        if (mask is not null) scores.masked_fill_(mask.logical_not(), LowestFinite(scores.dtype));
        var probabilities = FastDropout.Apply(scores.softmax(-1), dropout, training: true);
        return matmul(probabilities, v).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Whether to compute the probabilities explicitly: in CPU training with dropout (the fused kernel has none), or
    /// in bf16/fp16 (libtorch's fused CPU backward is about 3x slower than the explicit one there), unless the
    /// (B, heads, T, S) probabilities would exceed 256 MiB: long sequences keep the fused kernel's memory savings.
    /// </summary>
    static bool MaterialiseOnCpu(Tensor q, Tensor k, double dropout, bool training)
    {
        if (!training || q.device_type != DeviceType.CPU || !is_grad_enabled()) return false;
        if (dropout == 0 && q.dtype is not (ScalarType.BFloat16 or ScalarType.Float16)) return false;
        long probabilities = q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2];
        return probabilities * q.ElementSize <= 256L << 20;
    }

    /// <summary>Whether CPU training with dropout uses <see cref="DropoutAttentionFunction"/>; settable so a comparison can turn it off.</summary>
    internal static bool UseFusedKernel { get; set; } = true;

    /// <summary>Whether <see cref="SoftmaxDropoutKernel"/> handles the (B, heads, T, S) scores of these queries and keys.</summary>
    static bool FusedKernelCovers(Tensor q, Tensor k, Tensor v) =>
        q.dtype == k.dtype && q.dtype is ScalarType.Float32 or ScalarType.BFloat16 && k.shape[^2] <= SoftmaxDropoutKernel.MaxRowLength &&
        q.dim() == 4 && q.shape[..2].SequenceEqual(k.shape[..2]) && k.shape.SequenceEqual(v.shape);  // no broadcast batch or heads

    static double LowestFinite(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504.0,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };
}
