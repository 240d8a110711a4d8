using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Checkpoints;

static class TensorAssert
{
    /// <summary>Same dtype, same shape and the very same bytes (so NaN payloads and -0.0 count too).</summary>
    public static void BitEqual(Tensor expected, Tensor actual, string? name = null)
    {
        Assert.True(expected.dtype == actual.dtype, $"{name}: dtype {actual.dtype} != {expected.dtype}");
        Assert.Equal(expected.shape, actual.shape);
        if (expected.NumberOfElements == 0) return;
        using var e = expected.detach().cpu().contiguous();
        using var a = actual.detach().cpu().contiguous();
        Assert.True(e.bytes.SequenceEqual(a.bytes), $"{name}: bytes differ");
    }

    /// <summary>Asserts the exception message names every given fragment (problem, file, key).</summary>
    public static void MessageNames(Exception e, params string[] fragments)
    {
        foreach (string fragment in fragments)
            Assert.True(e.Message.Contains(fragment, StringComparison.Ordinal), $"message lacks '{fragment}': {e.Message}");
    }
}
