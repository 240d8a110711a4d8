using Microsoft.ML.Peft.Tokenization;
using TorchSharp;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>The model-independent parts: longest-first truncation and the tensor view of a batch.</summary>
public sealed class TruncationAndTensorTests
{
    [Theory]
    [InlineData(2, 10, 6, 2, 4)] // the short text is kept whole
    [InlineData(10, 2, 6, 4, 2)]
    [InlineData(5, 5, 6, 3, 3)]
    [InlineData(5, 4, 6, 3, 3)] // cut the longer one until they tie, then the second one first
    [InlineData(5, 5, 5, 3, 2)]
    [InlineData(3, 3, 10, 3, 3)] // fits: untouched
    [InlineData(4, 4, 0, 0, 0)]
    public void LongestFirstCutsOneTokenAtATimeFromTheLongerText(int firstCount, int secondCount, int budget, int expectedFirst, int expectedSecond)
    {
        var first = Enumerable.Range(0, firstCount).ToList();
        var second = Enumerable.Range(100, secondCount).ToList();
        Truncation.LongestFirst(first, second, budget);
        Assert.Equal(Enumerable.Range(0, expectedFirst), first);
        Assert.Equal(Enumerable.Range(100, expectedSecond), second);
    }

    [Fact]
    public void LongestFirstCutsASingleTextFromTheEnd()
    {
        var ids = new List<int> { 1, 2, 3, 4 };
        Truncation.LongestFirst(ids, null, 2);
        Assert.Equal([1, 2], ids);
    }

    [Fact]
    public void ToTensorsGivesInt64TensorsOfShapeBatchBySequence()
    {
        var batch = new TokenizedBatch([101, 7592, 102, 101, 102, 0], [1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0], batchSize: 2, sequenceLength: 3);
        using TokenizedTensors tensors = batch.ToTensors();
        Assert.Equal(torch.ScalarType.Int64, tensors.InputIds.dtype);
        Assert.Equal(new long[] { 2, 3 }, tensors.InputIds.shape);
        Assert.Equal(new long[] { 2, 3 }, tensors.AttentionMask.shape);
        Assert.Equal(new long[] { 2, 3 }, tensors.TokenTypeIds.shape);
        Assert.Equal(7592L, tensors.InputIds[0, 1].item<long>());
        Assert.Equal(5L, tensors.AttentionMask.sum().item<long>());
        Assert.Equal(batch.InputIds, tensors.InputIds.data<long>().ToArray());
    }

    [Fact]
    public void RejectsArraysOfTheWrongSize()
    {
        var e = Assert.Throws<ArgumentException>(() => new TokenizedBatch([1, 2, 3], [1, 1], [0, 0, 0], 1, 3));
        Assert.Contains("attentionMask", e.Message);
    }
}
