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
    public void DecodesBackToTheLowerCasedText()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["This is an example sentence", "hello world"]);
        Assert.Equal("this is an example sentence", _tokenizer.Decode(batch.Row(0).Select(i => (int)i)));
        Assert.Equal("hello world", _tokenizer.Decode(batch.Row(1).Select(i => (int)i)));
        Assert.Equal("unaffable", _tokenizer.Decode(_tokenizer.EncodeToIds("unaffable")));
        Assert.Contains("[CLS]", _tokenizer.Decode([101, 7592, 102], skipSpecialTokens: false));
    }

    [Fact]
    public void MapsOverlongWordsToUnk()
    {
        // BERT gives up on words longer than 100 characters.
        Assert.Equal([100], _tokenizer.EncodeToIds(new string('a', 101), addSpecialTokens: false));
    }

    [Fact]
    public void LoadsAVocabularyWithoutMaskToken()
    {
        string folder = NuGetPackages.NewTempFolder("no-mask");
        try
        {
            string path = Path.Combine(folder, "vocab.txt");
            File.WriteAllLines(path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s"]);
            var tokenizer = BertWordPieceTokenizer.FromVocabFile(path);
            Assert.Null(tokenizer.SpecialTokens.Mask);
            Assert.Equal(7, tokenizer.VocabularySize);
            Assert.Equal([2, 4, 5, 6, 1, 3], tokenizer.EncodeToIds("Hello worlds zzz"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
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
