using Microsoft.ML.Peft.Quantization;
using Microsoft.ML.Peft.Tests.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Quantization;

public class QuantizationInputTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-64)]
    public void NonPositiveBlockSizeIsRejected(int blockSize)
    {
        using var weight = ones(8, 8);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => QuantizedWeight.Quantize(weight, new QuantizationOptions { BlockSize = blockSize }));
        TensorAssert.MessageNames(e, "positive", blockSize.ToString());
    }

    [Fact]
    public void BlockSizeThatDoesNotDivideTheElementsIsNamed()
    {
        using var weight = ones(10, 100);
        var e = Assert.Throws<ArgumentException>(() => QuantizedWeight.Quantize(weight));
        TensorAssert.MessageNames(e, "Block size 64", "1000 elements", "[10, 100]", "1000 % 64 = 40");
    }

    [Fact]
    public void NonFiniteValuesAreNamed()
    {
        using var withNan = ones(4, 64);
        withNan[1, 3] = tensor(float.NaN);
        TensorAssert.MessageNames(Assert.Throws<ArgumentException>(() => QuantizedWeight.Quantize(withNan)), "1 NaN", "0 Inf");
        using var withInf = ones(4, 64);
        withInf[0, 0] = tensor(float.PositiveInfinity);
        withInf[2, 5] = tensor(float.NegativeInfinity);
        TensorAssert.MessageNames(Assert.Throws<ArgumentException>(() => QuantizedWeight.Quantize(withInf)), "0 NaN", "2 Inf");
    }

    [Fact]
    public void IntegerWeightIsRejected()
    {
        using var weight = ones(new long[] { 8, 64 }, dtype: ScalarType.Int64);
        TensorAssert.MessageNames(Assert.Throws<ArgumentException>(() => QuantizedWeight.Quantize(weight)), "Int64", "floating-point");
    }

    [Fact]
    public void UnsupportedQuantTypeAndComputeDtypeAreRejected()
    {
        using var weight = ones(8, 64);
        var e = Assert.Throws<NotSupportedException>(() => QuantizedWeight.Quantize(weight, new QuantizationOptions { QuantType = "fp4" }));
        TensorAssert.MessageNames(e, "'fp4'", "nf4");
        Assert.Throws<NotSupportedException>(() => new QuantizationOptions { ComputeDType = ScalarType.Int32 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new QuantizationOptions { DoubleQuantBlockSize = 0 }.Validate());
        // The type name is case-insensitive.
        using var q = QuantizedWeight.Quantize(weight, new QuantizationOptions { QuantType = "NF4" });
    }

    [Fact]
    public void Linear4bitNeedsATwoDimensionalWeight()
    {
        using var weight = ones(2, 4, 64);
        var options = new QuantizationOptions();
        var q = QuantizedWeight.Quantize(weight, options);
        try
        {
            TensorAssert.MessageNames(Assert.Throws<ArgumentException>(() => new Linear4bit(q, null, options)), "2-D", "[2, 4, 64]");
        }
        finally { q.Dispose(); }
    }
}
