using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Quantization;

static class QuantizationTestData
{
    /// <summary>Seeded N(0,1) fp32 values with a private generator (tests run in parallel; the global seed is shared).</summary>
    public static Tensor Gaussian(long[] shape, ulong seed)
    {
        using var generator = new Generator(seed);
        return randn(shape, generator: generator);
    }

    /// <summary>Mean absolute difference as a double.</summary>
    public static double Mae(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.to(ScalarType.Float64).sub(b.to(ScalarType.Float64)).abs().mean().item<double>();
    }

    /// <summary>‖a - b‖ / ‖b‖ in fp64.</summary>
    public static double RelativeError(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var a64 = a.to(ScalarType.Float64);
        var b64 = b.to(ScalarType.Float64);
        return a64.sub(b64).norm().item<double>() / b64.norm().item<double>();
    }

    /// <summary>True when both tensors have the same shape, dtype and values.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }
}
