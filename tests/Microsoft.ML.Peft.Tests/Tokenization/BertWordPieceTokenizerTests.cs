using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>WordPiece on the real bert-base-uncased vocabulary; expected ids are published ones or vocab.txt line numbers.</summary>
public sealed class BertWordPieceTokenizerTests : IClassFixture<BertVocabFixture>
{
    private readonly BertVocabFixture _vocab;
    private readonly BertWordPieceTokenizer _tokenizer;

    public BertWordPieceTokenizerTests(BertVocabFixture vocab)
    {
        _vocab = vocab;
        _tokenizer = BertWordPieceTokenizer.FromVocabFile(vocab.VocabPath);
    }

    [Fact]
    public void SpecialTokensAndVocabularySizeAreThoseOfBertBaseUncased()
    {
        Assert.Equal(30522, _tokenizer.VocabularySize);
        Assert.Equal(101, _tokenizer.SpecialTokens.Cls);
        Assert.Equal(102, _tokenizer.SpecialTokens.Sep);
        Assert.Equal(0, _tokenizer.SpecialTokens.Pad);
        Assert.Equal(100, _tokenizer.SpecialTokens.Unk);
        Assert.Equal(_vocab.Id("[MASK]"), _tokenizer.SpecialTokens.Mask);
    }

    [Fact]
    public void EncodesTheSentenceTransformersExampleToPublishedIds()
    {
        Assert.Equal([101, 2023, 2003, 2019, 2742, 6251, 102], _tokenizer.EncodeToIds("This is an example sentence"));
    }

    [Fact]
    public void EncodesKnownWordsAndPunctuation()
    {
        Assert.Equal([101, 7592, 1010, 2088, 1012, 102], _tokenizer.EncodeToIds("Hello, world."));
        Assert.Equal([1996], _tokenizer.EncodeToIds("The", addSpecialTokens: false));
    }

    [Fact]
    public void SplitsUnknownWordsIntoWordPieces()
    {
        int[] expected = [_vocab.Id("una"), _vocab.Id("##ffa"), _vocab.Id("##ble")];
        Assert.Equal(expected, _tokenizer.EncodeToIds("unaffable", addSpecialTokens: false));
    }

    [Fact]
    public void MapsCharactersOutsideTheVocabularyToUnk()
    {
        Assert.DoesNotContain("\U0001F600", _vocab.Lines);
        Assert.Equal([101, 7592, 100, 102], _tokenizer.EncodeToIds("hello \U0001F600"));
    }

    [Fact]
    public void StripsAccentsWhenLowerCasing()
    {
        int[] expected = [_vocab.Id("cafe"), _vocab.Id("naive")];
        Assert.Equal(expected, _tokenizer.EncodeToIds("Café Naïve", addSpecialTokens: false));
    }

    [Fact]
    public void KeepsAccentsWhenAskedTo()
    {
        var keep = BertWordPieceTokenizer.FromVocabFile(_vocab.VocabPath, new WordPieceTokenizerOptions { StripAccents = false });
        Assert.False(keep.StripAccents);
        Assert.NotEqual(_tokenizer.EncodeToIds("café"), keep.EncodeToIds("café"));
    }

    [Fact]
    public void CasedOptionDoesNotLowerCase()
    {
        var cased = BertWordPieceTokenizer.FromVocabFile(_vocab.VocabPath, new WordPieceTokenizerOptions { LowerCase = false });
        Assert.False(cased.LowerCase);

        // The uncased vocabulary has no "Hello", so the cased tokenizer must not find 7592 ("hello").
        Assert.DoesNotContain("Hello", _vocab.Lines);
        Assert.DoesNotContain(7592, cased.EncodeToIds("Hello", addSpecialTokens: false));
    }

    [Fact]
    public void SplitsChineseIntoOneTokenPerCharacter()
    {
        // 你 is not in the uncased vocabulary: as a word of its own it becomes [UNK] without touching its neighbours.
        Assert.DoesNotContain("你", _vocab.Lines);
        int[] expected = [101, 100, _vocab.Id("中"), _vocab.Id("国"), _vocab.Id("人"), 102];
        Assert.Equal(expected, _tokenizer.EncodeToIds("你中国人"));
    }

    [Fact]
    public void TreatsTabsAndNewlinesAsSpaces()
    {
        Assert.Equal([7592, 2088, 1996], _tokenizer.EncodeToIds("hello\tworld\nthe", addSpecialTokens: false));
    }

    [Fact]
    public void SplitsAsciiSymbolsButKeepsOtherSymbolsInTheirWord()
    {
        // BERT's basic tokenizer counts every ASCII non-alphanumeric as punctuation; ©, € are ordinary characters.
        int[] expected = [_vocab.Id("$"), _vocab.Id("5"), _vocab.Id("+"), _vocab.Id("©"), _vocab.Id("€")];
        Assert.Equal(expected, _tokenizer.EncodeToIds("$5+ © €", addSpecialTokens: false));
    }

    [Fact]
    public void KeepsSpecialTokensWrittenInTheText()
    {
        Assert.Equal([101, _vocab.Id("[MASK]"), 2003, 2088, 102], _tokenizer.EncodeToIds("[MASK] is world"));
    }

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
    public void DecodesBackToTheLowerCasedText()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["This is an example sentence", "hello world"]);
        Assert.Equal("this is an example sentence", _tokenizer.Decode(batch.Row(0).Select(i => (int)i)));
        Assert.Equal("hello world", _tokenizer.Decode(batch.Row(1).Select(i => (int)i)));
        Assert.Equal("unaffable", _tokenizer.Decode(_tokenizer.EncodeToIds("unaffable")));
        Assert.Contains("[CLS]", _tokenizer.Decode([101, 7592, 102], skipSpecialTokens: false));
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

    [Fact]
    public void ReportsAMissingVocabularyFileByName()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid().ToString("N"), "vocab.txt");
        var e = Assert.Throws<FileNotFoundException>(() => BertWordPieceTokenizer.FromVocabFile(path));
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.FileName);
    }

    [Fact]
    public void ReportsAMissingSpecialTokenWithTheFileAndToken()
    {
        string folder = NuGetPackages.NewTempFolder("bad-vocab");
        try
        {
            string path = Path.Combine(folder, "vocab.txt");
            File.WriteAllLines(path, ["[PAD]", "[UNK]", "[CLS]", "hello"]);
            var e = Assert.Throws<InvalidDataException>(() => BertWordPieceTokenizer.FromVocabFile(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("[SEP]", e.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
