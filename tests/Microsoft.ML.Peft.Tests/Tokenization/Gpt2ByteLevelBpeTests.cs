using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>Byte-level BPE on the real GPT-2 vocabulary and merges; expected ids are published GPT-2 ids.</summary>
public sealed class Gpt2ByteLevelBpeTests : IClassFixture<Gpt2Fixture>
{
    private readonly ByteLevelBpeTokenizer _tokenizer;

    public Gpt2ByteLevelBpeTests(Gpt2Fixture gpt2) => _tokenizer = gpt2.Tokenizer;

    [Fact]
    public void EncodesToPublishedGpt2Ids()
    {
        Assert.Equal([15496, 995], _tokenizer.EncodeToIds("Hello world"));
        Assert.Equal([995], _tokenizer.EncodeToIds(" world"));
    }

    [Fact]
    public void EncodesRunsOfSpacesOneByteTokenEachLikeGpt2()
    {
        // Ids from the gpt-3-encoder npm package (OpenAI's GPT-2 encoder). GPT-2 has no multi-space tokens;
        // the package's CodeGen tokenizer would emit CodeGen-only ids (50257+) here, which is why it is not used.
        Assert.Equal([64, 220, 220, 220, 220, 220, 275], _tokenizer.EncodeToIds("a      b"));
        Assert.Equal([4299, 277, 33529, 198, 220, 220, 220, 220, 220, 220, 220, 1441, 352, 628], _tokenizer.EncodeToIds("def f():\n        return 1\n\n"));
        Assert.All(_tokenizer.EncodeToIds("x\t\t  y   \n\n z"), id => Assert.True(id < _tokenizer.VocabularySize));
    }

    [Fact]
    public void MapsEndOfTextWrittenInTheTextToItsId()
    {
        Assert.Equal([Gpt2Fixture.EndOfText], _tokenizer.EncodeToIds("<|endoftext|>"));
        Assert.Equal([15496, Gpt2Fixture.EndOfText, 995], _tokenizer.EncodeToIds("Hello<|endoftext|> world"));
    }

    [Fact]
    public void HasNoFramingAndPadsWithEndOfText()
    {
        Assert.Equal(50257, _tokenizer.VocabularySize);
        Assert.Equal(Gpt2Fixture.EndOfText, _tokenizer.SpecialTokens.Eos);
        Assert.Equal(Gpt2Fixture.EndOfText, _tokenizer.SpecialTokens.Pad);
        Assert.Null(_tokenizer.SpecialTokens.Mask);
        Assert.Equal(0, _tokenizer.Template.SpecialTokenCount(pair: true));

        TokenizedBatch batch = _tokenizer.EncodeBatch([" world", "Hello world"]);
        Assert.Equal([995, Gpt2Fixture.EndOfText], batch.Row(0));
        Assert.Equal([1, 0], batch.MaskRow(0));
        Assert.Equal([15496, 995], batch.Row(1));
        Assert.All(batch.TokenTypeIds, t => Assert.Equal(0, t));
    }

    [Fact]
    public void ConcatenatesPairsWithoutSeparatorAndTruncates()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["Hello"], [" world"]);
        Assert.Equal([15496, 995], batch.Row(0));
        Assert.Equal([0, 0], batch.TokenTypeRow(0));

        batch = _tokenizer.EncodeBatch(["Hello world"], maxLength: 1);
        Assert.Equal([15496], batch.Row(0));
    }

    [Fact]
    public void EncodesEmptyAndNonEnglishTextAndDecodesItBack()
    {
        Assert.Empty(_tokenizer.EncodeToIds(string.Empty));
        foreach (string text in new[] { "Hello world", "café naïve", "你好，世界", "def f():\n    return 1\n", "emoji \U0001F600!" })
        {
            Assert.Equal(text, _tokenizer.Decode(_tokenizer.EncodeToIds(text)));
        }
    }

    [Fact]
    public void DecodeSkipsPaddingUnlessAskedToKeepSpecialTokens()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch([" world"], maxLength: 4, padding: PaddingMode.MaxLength);
        int[] row = batch.Row(0).Select(i => (int)i).ToArray();
        Assert.Equal(" world", _tokenizer.Decode(row));
        Assert.Equal(" world<|endoftext|><|endoftext|><|endoftext|>", _tokenizer.Decode(row, skipSpecialTokens: false));
    }
}
