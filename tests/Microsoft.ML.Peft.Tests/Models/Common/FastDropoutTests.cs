using Microsoft.ML.Peft.Models.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models.Common;

/// <summary><see cref="FastDropout"/> and its counter-based <see cref="DropoutMask"/> behave as inverted dropout should.</summary>
public sealed class FastDropoutTests
{
    [Theory]
    [InlineData(ScalarType.Float32, 0.1)]
    [InlineData(ScalarType.BFloat16, 0.1)]
    [InlineData(ScalarType.Float16, 0.3)]
    [InlineData(ScalarType.Float32, 0.5)]
    public void Drops_the_requested_fraction_and_scales_the_rest(ScalarType dtype, double p)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var x = ones(1 << 20).to(dtype);
        var y = FastDropout.Apply(x, p, training: true).to(ScalarType.Float32);
        double dropped = y.eq(0).to(ScalarType.Float64).mean().item<double>();
        // Binomial standard deviation over 2^20 elements is at most 4.9e-4; allow 5 of them.
        Assert.InRange(dropped, p - 2.5e-3, p + 2.5e-3);
        float keep = (float)(1 / (1 - p));
        float expected = new[] { keep }.Select(k => ones(1).mul(k).to(dtype).to(ScalarType.Float32).item<float>()).Single();
        Assert.True(y.eq(0).logical_or(y.eq(expected)).all().item<bool>(), "every element is 0 or 1/(1-p) in the input's dtype");
    }

    [Fact]
    public void Uniforms_of_consecutive_elements_are_uncorrelated()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var kept = FastDropout.Apply(ones(1 << 20), 0.5, training: true).gt(0).to(ScalarType.Float64);
        // Neighbours share a 64-bit word in groups of 4 and a SIMD step in groups of 16: their keep decisions must
        // still be independent. Correlation over 2^20 pairs has a standard deviation of about 1e-3.
        foreach (int lag in new[] { 1, 3, 4, 15, 16 })
        {
            var a = kept[..^lag] - 0.5;
            var b = kept[lag..] - 0.5;
            double correlation = (a * b).mean().item<double>() / 0.25;
            Assert.InRange(correlation, -6e-3, 6e-3);
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_mask_and_another_seed_another()
    {
        using var scope = NewDisposeScope();
        var x = randn(1000, 37);
        random.manual_seed(7);
        var first = FastDropout.Apply(x, 0.2, training: true);
        random.manual_seed(7);
        var again = FastDropout.Apply(x, 0.2, training: true);
        random.manual_seed(8);
        var other = FastDropout.Apply(x, 0.2, training: true);
        Assert.True(first.eq(again).all().item<bool>());
        Assert.False(first.eq(other).all().item<bool>());
    }

    [Fact]
    public void The_scalar_tail_continues_the_vector_stream_element_for_element()
    {
        using var scope = NewDisposeScope();
        // 32 (or 16) elements per SIMD step: a 37-element mask ends in a 5-element scalar tail, which must draw the same
        // uniforms as the SIMD path does for those positions in a longer mask from the same seed.
        random.manual_seed(3);
        var shortMask = DropoutMask.Sample(new long[] { 37 }, 0.5, ScalarType.Float32);
        random.manual_seed(3);
        var longMask = DropoutMask.Sample(new long[] { 64 }, 0.5, ScalarType.Float32);
        Assert.True(shortMask.eq(longMask[..37]).all().item<bool>());
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void Vector_widths_give_the_same_mask(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        Tensor Sample(bool wide)
        {
            bool before = DropoutMask.UseVector512;
            DropoutMask.UseVector512 = wide;
            try
            {
                random.manual_seed(11);
                return DropoutMask.Sample(new long[] { 200_003 }, 0.25, dtype);  // several parallel tasks and a scalar tail
            }
            finally
            {
                DropoutMask.UseVector512 = before;
            }
        }
        var narrow = Sample(wide: false);
        var wide = Sample(wide: true);
        Assert.True(narrow.eq(wide).all().item<bool>());
        Assert.InRange(narrow.eq(0).to(ScalarType.Float64).mean().item<double>(), 0.245, 0.255);
    }

    [Fact]
    public void Evaluation_mode_returns_the_input_and_gradients_flow_through_kept_elements()
    {
        using var scope = NewDisposeScope();
        var x = randn(64, 16).requires_grad_();
        Assert.True(FastDropout.Apply(x, 0.5, training: false).eq(x).all().item<bool>());

        random.manual_seed(4);
        var y = FastDropout.Apply(x, 0.25, training: true);
        y.sum().backward();
        // d(sum y)/dx is the mask itself: 0 where dropped, 1/(1-p) where kept.
        var expected = y.detach().ne(0).to(ScalarType.Float32) / 0.75f;
        Assert.True(x.grad!.allclose(expected, rtol: 1e-6, atol: 0));
    }

    [Fact]
    public void Layer_follows_train_and_eval()
    {
        using var scope = NewDisposeScope();
        var layer = new FastDropoutLayer(0.5);
        var x = ones(4096);
        layer.train();
        Assert.True(layer.call(x).eq(0).any().item<bool>());
        layer.eval();
        Assert.True(layer.call(x).eq(x).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new FastDropoutLayer(1.5));
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-6)]
    [InlineData(ScalarType.BFloat16, 1e-2)]  // one rounding instead of two
    public void AddDropped_equals_the_residual_plus_the_same_seeds_dropout_with_gradients(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        var residual = randn(4, 16, 40).to(dtype).requires_grad_();
        var x = randn(4, 16, 40).to(dtype).requires_grad_();
        random.manual_seed(8);
        var fused = FastDropout.AddDropped(residual, x, 0.2, training: true);
        var fusedGrads = autograd.grad(new[] { fused.to(ScalarType.Float32).sum() }, new[] { residual, x });
        random.manual_seed(8);
        var chained = residual + FastDropout.Apply(x, 0.2, training: true);
        var chainedGrads = autograd.grad(new[] { chained.to(ScalarType.Float32).sum() }, new[] { residual, x });

        Assert.True(fused.to(ScalarType.Float32).allclose(chained.to(ScalarType.Float32), rtol: tolerance, atol: tolerance));
        Assert.True(fusedGrads[0].eq(chainedGrads[0]).all().item<bool>());  // the residual's gradient passes through
        Assert.True(fusedGrads[1].eq(chainedGrads[1]).all().item<bool>());  // x's is the mask either way
        Assert.True(FastDropout.AddDropped(residual, x, 0.2, training: false).eq(residual + x).all().item<bool>());
    }
}
