using Microsoft.ML.Peft.Models.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models.Common;

/// <summary>The explicit training path of <see cref="AttentionKernel"/> computes the same attention as libtorch's kernel.</summary>
public sealed class AttentionKernelTests
{
    static (Tensor q, Tensor k, Tensor v, Tensor mask) Inputs(ScalarType dtype)
    {
        random.manual_seed(11);
        var q = randn(2, 3, 5, 8).to(dtype).requires_grad_();
        var k = randn(2, 3, 7, 8).to(dtype).requires_grad_();
        var v = randn(2, 3, 7, 8).to(dtype).requires_grad_();
        var mask = ones(2, 1, 1, 7, dtype: ScalarType.Bool);
        mask[1, 0, 0, TensorIndex.Slice(5, null)] = tensor(false);  // the second row's last two keys are padding
        return (q, k, v, mask);
    }

    [Fact]
    public void Explicit_bf16_training_path_equals_the_fused_kernel_with_gradients()
    {
        using var scope = NewDisposeScope();
        var (q, k, v, mask) = Inputs(ScalarType.BFloat16);
        // bf16 with dropout 0 takes the explicit path in training; libtorch's kernel is the reference.
        var ours = AttentionKernel.ScaledDotProduct(q, k, v, mask, 0.0, training: true);
        var oursGrads = autograd.grad(new[] { ours.to(ScalarType.Float32).square().sum() }, new[] { q, k, v });
        var reference = nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, false);
        var referenceGrads = autograd.grad(new[] { reference.to(ScalarType.Float32).square().sum() }, new[] { q, k, v });
        Assert.True(ours.to(ScalarType.Float32).allclose(reference.to(ScalarType.Float32), rtol: 0.02, atol: 0.02));
        for (int i = 0; i < 3; i++)
            Assert.True(oursGrads[i].to(ScalarType.Float32).allclose(referenceGrads[i].to(ScalarType.Float32), rtol: 0.05, atol: 0.05), $"gradient {i}");
    }

    [Fact]
    public void Dropout_path_applies_the_same_mask_as_sampled_from_the_seed()
    {
        using var scope = NewDisposeScope();
        var (q, k, v, mask) = Inputs(ScalarType.Float32);
        random.manual_seed(5);
        var ours = AttentionKernel.ScaledDotProduct(q, k, v, mask, 0.3, training: true);

        random.manual_seed(5);
        var keep = DropoutMask.Sample(new long[] { 2, 3, 5, 7 }, 0.3, ScalarType.Float32);
        var scores = matmul(q, k.transpose(-1, -2)) / Math.Sqrt(8);
        var probabilities = scores.masked_fill(mask.logical_not(), float.NegativeInfinity).softmax(-1);
        var expected = matmul(probabilities * keep, v);
        Assert.True(ours.allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Inference_and_zero_dropout_fp32_use_the_fused_kernel_exactly()
    {
        using var scope = NewDisposeScope();
        var (q, k, v, mask) = Inputs(ScalarType.Float32);
        var reference = nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, false);
        Assert.True(AttentionKernel.ScaledDotProduct(q, k, v, mask, 0.1, training: false).eq(reference).all().item<bool>());
        Assert.True(AttentionKernel.ScaledDotProduct(q, k, v, mask, 0.0, training: true).eq(reference).all().item<bool>());
    }

    [Fact]
    public void A_fully_masked_query_row_stays_finite()
    {
        using var scope = NewDisposeScope();
        var (q, k, v, _) = Inputs(ScalarType.Float32);
        var none = zeros(2, 1, 1, 7, dtype: ScalarType.Bool);
        var output = AttentionKernel.ScaledDotProduct(q, k, v, none, 0.2, training: true);
        Assert.True(output.isfinite().all().item<bool>());
    }
}
