using Microsoft.ML.Peft.Models.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models.Common;

/// <summary>
/// The fused softmax-dropout attention node (<see cref="DropoutAttentionFunction"/> over <see cref="SoftmaxDropoutKernel"/>)
/// against the same attention written as a chain of libtorch operations with the mask <see cref="DropoutMask"/> samples
/// for the same seed: outputs and gradients of q, k and v.
/// </summary>
public sealed class SoftmaxDropoutKernelTests
{
    /// <summary>q (2, 3, 5, d), k and v (2, 3, keys, d), the second sequence's last two keys masked.</summary>
    static (Tensor q, Tensor k, Tensor v, Tensor mask) Inputs(int keys, ScalarType dtype)
    {
        random.manual_seed(3);
        Tensor Leaf(params long[] shape) => randn(shape).to(dtype).requires_grad_();
        var (q, k, v) = (Leaf(2, 3, 5, 8), Leaf(2, 3, keys, 8), Leaf(2, 3, keys, 8));
        var mask = ones(2, 1, 1, keys, dtype: ScalarType.Bool);
        mask[1, 0, 0, TensorIndex.Slice(keys - 2, null)] = tensor(false);
        return (q, k, v, mask);
    }

    /// <summary>dropout(softmax(q kᵀ/√d + mask)) v by libtorch operations, in fp32, with the seed's mask.</summary>
    static Tensor Reference(Tensor q, Tensor k, Tensor v, Tensor mask, double p, long seed)
    {
        random.manual_seed(seed);
        var keep = DropoutMask.Sample(new long[] { q.shape[0], q.shape[1], q.shape[2], k.shape[2] }, p, q.dtype).to(ScalarType.Float32);
        var (q32, k32, v32) = (q.to(ScalarType.Float32), k.to(ScalarType.Float32), v.to(ScalarType.Float32));
        var scores = matmul(q32, k32.transpose(-1, -2)) / Math.Sqrt(q.shape[^1]);
        var probabilities = scores.masked_fill(mask.logical_not(), float.NegativeInfinity).softmax(-1);
        return matmul(probabilities * keep, v32);
    }

    /// <summary>The fused node itself, with the settings <see cref="AttentionKernel"/> gives it.</summary>
    static Tensor Fused(Tensor q, Tensor k, Tensor v, Tensor mask, double p, long seed)
    {
        random.manual_seed(seed);
        var settings = new DropoutAttentionFunction.Settings(mask, p, MaskedScore: -3.3895313892515355e38, ScoreScale: 1 / Math.Sqrt(q.shape[^1]));
        return DropoutAttentionFunction.apply(q, k, v, settings);
    }

    static (Tensor Output, Tensor[] Gradients) WithGradients(Func<Tensor> attention, Tensor q, Tensor k, Tensor v, Tensor weights)
    {
        var output = attention().to(ScalarType.Float32);
        var gradients = autograd.grad(new[] { (output * weights).sum() }, new[] { q, k, v });
        return (output, gradients.Select(g => g.to(ScalarType.Float32)).ToArray());
    }

    /// <summary>Outputs within (<paramref name="rtol"/>, <paramref name="atol"/>); gradients of q, k and v within the gradient tolerances.</summary>
    static void AssertClose((Tensor Output, Tensor[] Gradients) ours, (Tensor Output, Tensor[] Gradients) expected,
                            double rtol, double atol, double gradientRtol, double gradientAtol)
    {
        Assert.True(ours.Output.allclose(expected.Output, rtol, atol), $"output, max difference {(ours.Output - expected.Output).abs().max().item<float>()}");
        for (int i = 0; i < 3; i++)
            Assert.True(ours.Gradients[i].allclose(expected.Gradients[i], gradientRtol, gradientAtol),
                $"gradient {"qkv"[i]}, max difference {(ours.Gradients[i] - expected.Gradients[i]).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData(7)]    // rows shorter than one 16-lane vector: scalar path only
    [InlineData(37)]   // two vector steps and a tail
    [InlineData(128)]  // whole vectors
    public void Fp32_output_and_gradients_equal_the_operation_chain(int keys)
    {
        using var scope = NewDisposeScope();
        var (q, k, v, mask) = Inputs(keys, ScalarType.Float32);
        var weights = randn(2, 3, 5, 8);  // a loss that weights every output element differently
        AssertClose(WithGradients(() => Fused(q, k, v, mask, 0.25, seed: 9), q, k, v, weights),
                    WithGradients(() => Reference(q, k, v, mask, 0.25, seed: 9), q, k, v, weights), 1e-5, 1e-6, 1e-4, 1e-5);
    }

    [Fact]
    public void Bf16_output_and_gradients_stay_within_bf16_rounding_of_the_fp32_chain()
    {
        using var scope = NewDisposeScope();
        var (q, k, v, mask) = Inputs(64, ScalarType.BFloat16);
        var weights = randn(2, 3, 5, 8);
        // bf16 keeps 8 significant bits (relative step 2^-8 = 0.4 %); a few roundings along the way stay within 2-3 %.
        AssertClose(WithGradients(() => Fused(q, k, v, mask, 0.1, seed: 4), q, k, v, weights),
                    WithGradients(() => Reference(q, k, v, mask, 0.1, seed: 4), q, k, v, weights), 0.02, 0.02, 0.03, 0.03);
    }

    [Fact]
    public void Forward_without_drops_is_the_scaled_softmax_and_masked_keys_get_exactly_zero()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var scores = randn(4, 6, 50) * 32;  // exp underflows for the smallest shifted scores
        scores[.., .., TensorIndex.Slice(40, null)] = tensor(float.MinValue);
        var expected = (scores * 0.25f).softmax(-1);
        var probabilities = scores.clone();
        var dropped = empty_like(scores);
        SoftmaxDropoutKernel.Forward(probabilities, dropped, new DropoutDraw(Seed: 7, Threshold: 0, Scale: 1), scoreScale: 0.25f);

        Assert.True(probabilities.allclose(expected, rtol: 1e-6, atol: 1e-7), $"max difference {(probabilities - expected).abs().max().item<float>()}");
        Assert.True(dropped.eq(probabilities).all().item<bool>());
        Assert.True(probabilities[.., .., TensorIndex.Slice(40, null)].eq(0).all().item<bool>());
    }

    [Fact]
    public void Kernels_reject_strided_mismatched_or_unsupported_tensors_with_the_reason()
    {
        using var scope = NewDisposeScope();
        var draw = new DropoutDraw(Seed: 1, Threshold: 0, Scale: 1);
        var strided = randn(4, 8).t();
        var error = Assert.Throws<ArgumentException>(() => SoftmaxDropoutKernel.Forward(strided, empty(8, 4), draw));
        Assert.Contains("contiguous", error.Message);
        Assert.Throws<ArgumentException>(() => SoftmaxDropoutKernel.Backward(randn(2, 5), randn(2, 6), empty(2, 5), draw));
        error = Assert.Throws<ArgumentException>(() => SoftmaxDropoutKernel.Forward(randn(2, 5, dtype: ScalarType.Float64), empty(2, 5, dtype: ScalarType.Float64), draw));
        Assert.Contains("Float64", error.Message);
    }

    [Theory]
    [InlineData("causal")]            // (1, 1, T, S): read by the kernel, shared by the batch
    [InlineData("causal+padding")]    // (B, 1, T, S): read by the kernel, one per sequence
    [InlineData("per-head")]          // (B, heads, T, S): not a layout the kernel reads; masked by a pass of its own
    public void Causal_padding_and_per_head_masks_equal_the_operation_chain(string kind)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        const int length = 37;  // two 16-lane steps and a tail per row
        Tensor Leaf() => randn(2, 3, length, 8).requires_grad_();
        var (q, k, v) = (Leaf(), Leaf(), Leaf());
        var causal = ones(length, length, dtype: ScalarType.Bool).tril().view(1, 1, length, length);
        var padding = ones(2, 1, 1, length, dtype: ScalarType.Bool);
        padding[1, 0, 0, TensorIndex.Slice(30, null)] = tensor(false);
        var mask = kind switch
        {
            "causal" => causal,
            "causal+padding" => causal.logical_and(padding).contiguous(),
            _ => causal.logical_and(padding).expand(2, 3, length, length).contiguous(),
        };
        var weights = randn(2, 3, length, 8);
        // Every query row keeps at least key 0, so no row is fully masked and the -inf reference has no NaN.
        AssertClose(WithGradients(() => Fused(q, k, v, mask, 0.2, seed: 12), q, k, v, weights),
                    WithGradients(() => Reference(q, k, v, mask, 0.2, seed: 12), q, k, v, weights), 1e-5, 1e-6, 1e-4, 1e-5);
    }

    [Fact]
    public void Heads_viewed_from_projections_with_a_longer_key_sequence_equal_the_operation_chain()
    {
        // As the models call it: q, k and v are head views (B, heads, T, d) of (B, T, hidden) projections, strided, and
        // the keys are longer than the queries (a prefix); the gradients reach the projections through the views.
        using var scope = NewDisposeScope();
        random.manual_seed(8);
        Tensor Projection(int length) => randn(2, length, 3 * 8).requires_grad_();
        Tensor Heads(Tensor projection) => projection.view(2, projection.shape[1], 3, 8).transpose(1, 2);
        var (q, k, v) = (Projection(5), Projection(9), Projection(9));
        var mask = ones(2, 1, 1, 9, dtype: ScalarType.Bool);
        mask[0, 0, 0, TensorIndex.Slice(6, null)] = tensor(false);
        var weights = randn(2, 3, 5, 8);
        AssertClose(WithGradients(() => Fused(Heads(q), Heads(k), Heads(v), mask, 0.3, seed: 5), q, k, v, weights),
                    WithGradients(() => Reference(Heads(q), Heads(k), Heads(v), mask, 0.3, seed: 5), q, k, v, weights), 1e-5, 1e-6, 1e-4, 1e-5);
    }
}
