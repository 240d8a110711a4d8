using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>Padding, truncation, pairs and masks of BERT batches, on the real bert-base-uncased vocabulary.</summary>
public sealed class BertBatchingTests : IClassFixture<BertVocabFixture>
{
    private readonly BertWordPieceTokenizer _tokenizer;

    public BertBatchingTests(BertVocabFixture vocab) => _tokenizer = BertWordPieceTokenizer.FromVocabFile(vocab.VocabPath);

    [Fact]
    public void EncodesAnEmptyStringToTheSpecialTokensOnly()
    {
        Assert.Equal([101, 102], _tokenizer.EncodeToIds(string.Empty));
        TokenizedBatch batch = _tokenizer.EncodeBatch(["", "hello world"]);
        Assert.Equal([101, 102, 0, 0], batch.Row(0));
        Assert.Equal([1, 1, 0, 0], batch.MaskRow(0));
        Assert.Equal([101, 7592, 2088, 102], batch.Row(1));
    }

    [Fact]
    public void PadsToTheLongestRowWithPadIdAndMasksThePadding()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["hello", "hello, world."]);
        Assert.Equal(2, batch.BatchSize);
        Assert.Equal(6, batch.SequenceLength);
        Assert.Equal([101, 7592, 102, 0, 0, 0], batch.Row(0));
        Assert.Equal([1, 1, 1, 0, 0, 0], batch.MaskRow(0));
        Assert.Equal([101, 7592, 1010, 2088, 1012, 102], batch.Row(1));
        Assert.Equal([1, 1, 1, 1, 1, 1], batch.MaskRow(1));
        Assert.All(batch.TokenTypeIds, t => Assert.Equal(0, t));
        Assert.Equal(3, batch.Length(0));
    }

    [Fact]
    public void PadsToMaxLengthWhenAsked()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["hello"], maxLength: 8, padding: PaddingMode.MaxLength);
        Assert.Equal(8, batch.SequenceLength);
        Assert.Equal([101, 7592, 102, 0, 0, 0, 0, 0], batch.Row(0));
        Assert.Equal([1, 1, 1, 0, 0, 0, 0, 0], batch.MaskRow(0));
    }

    [Fact]
    public void TruncatesToMaxLengthCountingSpecialTokens()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["This is an example sentence", "hello"], maxLength: 5);
        Assert.Equal(5, batch.SequenceLength);
        Assert.Equal([101, 2023, 2003, 2019, 102], batch.Row(0));
        Assert.Equal([101, 7592, 102, 0, 0], batch.Row(1));
    }

    [Fact]
    public void EncodesPairsWithSeparatorsAndSegmentIds()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["hello"], ["the world."]);
        Assert.Equal([101, 7592, 102, 1996, 2088, 1012, 102], batch.Row(0));
        Assert.Equal([0, 0, 0, 1, 1, 1, 1], batch.TokenTypeRow(0));
        Assert.Equal([1, 1, 1, 1, 1, 1, 1], batch.MaskRow(0));
    }

    [Fact]
    public void TruncatesTheLongerTextOfAPairFirst()
    {
        // "hello" (1 token) with a 5-token second text, max 7: 3 specials leave 4, all cut from the second text.
        TokenizedBatch batch = _tokenizer.EncodeBatch(["hello"], ["This is an example sentence"], maxLength: 7);
        Assert.Equal([101, 7592, 102, 2023, 2003, 2019, 102], batch.Row(0));
        Assert.Equal([0, 0, 0, 1, 1, 1, 1], batch.TokenTypeRow(0));

        // Two 5-token texts with room for 6: each keeps 3.
        batch = _tokenizer.EncodeBatch(["This is an example sentence"], ["This is an example sentence"], maxLength: 9);
        Assert.Equal([101, 2023, 2003, 2019, 102, 2023, 2003, 2019, 102], batch.Row(0));
    }

    [Fact]
    public void PadsPairRowsWithTokenTypeZero()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["hello", "hello"], ["world", "the world."]);
        Assert.Equal([101, 7592, 102, 2088, 102, 0, 0], batch.Row(0));
        Assert.Equal([0, 0, 0, 1, 1, 0, 0], batch.TokenTypeRow(0));
        Assert.Equal([1, 1, 1, 1, 1, 0, 0], batch.MaskRow(0));
    }

    [Fact]
    public void RejectsAMaxLengthShorterThanTheSpecialTokens()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _tokenizer.EncodeBatch(["a"], ["b"], maxLength: 2));
        Assert.Equal(2, e.ActualValue);
        Assert.Contains("3 special tokens", e.Message);
    }

    [Fact]
    public void RejectsPairsOfAnotherCount()
    {
        var e = Assert.Throws<ArgumentException>(() => _tokenizer.EncodeBatch(["a", "b"], ["c"]));
        Assert.Contains("pairs has 1", e.Message);
    }
}
