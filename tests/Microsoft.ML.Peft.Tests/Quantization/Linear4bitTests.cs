using Microsoft.ML.Peft.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static Microsoft.ML.Peft.Tests.Quantization.QuantizationTestData;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Quantization;

public class Linear4bitTests(ITestOutputHelper output)
{
    static Linear MakeLinear(long inFeatures, long outFeatures, bool hasBias, ulong seed)
    {
        var linear = nn.Linear(inFeatures, outFeatures, hasBias);
        using (no_grad())
        {
            using var w = Gaussian(new long[] { outFeatures, inFeatures }, seed).mul_(0.02);
            linear.weight!.copy_(w);
            if (hasBias)
            {
                using var b = Gaussian(new long[] { outFeatures }, seed + 1).mul_(0.1);
                linear.bias!.copy_(b);
            }
        }
        return linear;
    }

    static readonly QuantizationOptions Fp32 = new() { ComputeDType = ScalarType.Float32 };

    [Fact]
    public void Fp32ForwardIsExactlyLinearWithTheDequantizedWeight()
    {
        using var linear = MakeLinear(256, 192, hasBias: true, seed: 10);
        using var layer = Linear4bit.FromLinear(linear, Fp32);
        using var x = Gaussian(new long[] { 4, 7, 256 }, seed: 11);
        using var w = layer.Dequantize(ScalarType.Float32);
        using var expected = nn.functional.linear(x, w, layer.Bias);
        using var actual = layer.forward(x);
        Assert.True(Same(expected, actual));
    }

    [Fact]
    public void ForwardApproximatesTheOriginalLinear()
    {
        using var linear = MakeLinear(512, 384, hasBias: false, seed: 12);
        using var layer = Linear4bit.FromLinear(linear, Fp32);
        using var x = Gaussian(new long[] { 64, 512 }, seed: 13);
        using var w = layer.Dequantize(ScalarType.Float32);
        double weightError = RelativeError(w, linear.weight!);
        using var y = linear.forward(x);
        using var y4 = layer.forward(x);
        double outputError = RelativeError(y4, y);
        output.WriteLine($"relative error: weight {weightError:F4}, output {outputError:F4}");
        // NF4 at block 64 keeps about 10% relative RMS error on Gaussian weights (RMSE/std ≈ 0.09-0.10); for random
        // inputs the output error is the weight error seen through x, so it must be close to it.
        Assert.InRange(weightError, 0.05, 0.12);
        Assert.InRange(outputError / weightError, 0.8, 1.2);
    }

    [Fact]
    public void BFloat16ComputeIsCloseAndReturnsTheInputDtype()
    {
        using var linear = MakeLinear(256, 128, hasBias: true, seed: 14);
        using var bf16 = Linear4bit.FromLinear(linear);
        using var fp32 = Linear4bit.FromLinear(linear, Fp32);
        Assert.Equal(ScalarType.BFloat16, bf16.Options.ComputeDType);
        using var x = Gaussian(new long[] { 8, 256 }, seed: 15);
        using var y = bf16.forward(x);
        using var reference = fp32.forward(x);
        Assert.Equal(ScalarType.Float32, y.dtype);
        Assert.True(RelativeError(y, reference) < 0.01, $"{RelativeError(y, reference)}");
        using var xb = x.to(ScalarType.BFloat16);
        using var yb = bf16.forward(xb);
        Assert.Equal(ScalarType.BFloat16, yb.dtype);
    }

    [Fact]
    public void PackedWeightIsAFrozenBufferAndOnlyTheBiasIsAParameter()
    {
        using var linear = MakeLinear(128, 64, hasBias: true, seed: 16);
        using var layer = Linear4bit.FromLinear(linear);
        var parameters = layer.named_parameters().ToList();
        Assert.Equal("bias", Assert.Single(parameters).name);
        Assert.False(parameters[0].parameter.requires_grad);

        var buffers = layer.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        Assert.Equal(new[] { "absmax_codes", "absmax_mean", "absmax_scales", "weight" }, buffers.Keys.Order());
        Assert.Equal(ScalarType.Byte, buffers["weight"].dtype);
        Assert.Equal(new long[] { 128 * 64 / 2 }, buffers["weight"].shape);
        // libtorch refuses gradients on integer tensors, so the packed weight can never be trained.
        Assert.ThrowsAny<Exception>(() => layer.PackedWeight.requires_grad = true);
        Assert.ThrowsAny<Exception>(() => new Parameter(layer.PackedWeight, requires_grad: true));
        Assert.False(layer.PackedWeight.requires_grad);
        Assert.Equal(new[] { "absmax_codes", "absmax_mean", "absmax_scales", "bias", "weight" }, layer.state_dict().Keys.Order());

        using var noBias = Linear4bit.FromLinear(MakeLinear(128, 64, hasBias: false, seed: 17), new QuantizationOptions { DoubleQuant = false });
        Assert.Empty(noBias.parameters());
        Assert.Equal(new[] { "absmax", "weight" }, noBias.named_buffers().Select(b => b.name).Order());
    }

    [Fact]
    public void GradientsReachTheInputButNotTheFrozenLayer()
    {
        using var linear = MakeLinear(64, 32, hasBias: true, seed: 18);
        using var layer = Linear4bit.FromLinear(linear);
        using var x = Gaussian(new long[] { 5, 64 }, seed: 19).requires_grad_(true);
        using var y = layer.forward(x);
        y.sum().backward();
        Assert.NotNull(x.grad);
        Assert.Equal(new long[] { 5, 64 }, x.grad!.shape);
        Assert.Null(layer.Bias!.grad);
    }

    [Fact]
    public void FrozenBytesCountPackedCodesAndState()
    {
        using var linear = MakeLinear(384, 384, hasBias: true, seed: 20);
        using var plain = Linear4bit.FromLinear(linear, new QuantizationOptions { DoubleQuant = false });
        using var dq = Linear4bit.FromLinear(linear);
        long n = 384 * 384, blocks = n / 64;                 // 2304 blocks = 9 groups of 256
        Assert.Equal(n / 2 + blocks * 4, plain.FrozenBytes);
        Assert.Equal(n / 2 + blocks + 9 * 4 + 4, dq.FrozenBytes);
        Assert.True(dq.FrozenBytes < 0.3 * n * 2 && dq.FrozenBytes < 0.15 * n * 4);
    }

    [Fact]
    public void DtypeCastsLeaveTheQuantizationStateAlone()
    {
        using var linear = MakeLinear(128, 64, hasBias: false, seed: 21);
        using var layer = Linear4bit.FromLinear(linear, Fp32 with { DoubleQuant = false });
        using var x = Gaussian(new long[] { 3, 128 }, seed: 22);
        using var before = layer.forward(x);
        layer.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.Float32, layer.named_buffers().Single(b => b.name == "absmax").buffer.dtype);
        Assert.Equal(ScalarType.Byte, layer.PackedWeight.dtype);
        using var after = layer.forward(x);
        Assert.True(Same(before, after));
    }

    [Fact]
    public void BFloat16DequantizeIsTheFp32OneRounded()
    {
        using var layer = Linear4bit.FromLinear(MakeLinear(192, 64, hasBias: false, seed: 23));
        using var fp32 = layer.Dequantize(ScalarType.Float32);
        using var bf16 = layer.Dequantize();
        using var rounded = fp32.to(ScalarType.BFloat16);
        Assert.True(Same(rounded, bf16));
        Assert.Equal(new long[] { 64, 192 }, bf16.shape);
    }

    [Fact]
    public void StateDictRoundTripsTheQuantizedWeight()
    {
        using var source = Linear4bit.FromLinear(MakeLinear(128, 64, hasBias: true, seed: 24));
        using var target = Linear4bit.FromLinear(MakeLinear(128, 64, hasBias: true, seed: 25));
        target.load_state_dict(source.state_dict());
        using var expected = source.Dequantize(ScalarType.Float32);
        using var actual = target.Dequantize(ScalarType.Float32);
        Assert.True(Same(expected, actual));
        Assert.True(Same(source.Bias!, target.Bias!));
    }
}
