using Microsoft.ML.Peft.Tokenization;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Peft.Tests.Decoders;

public sealed class TokenizerTests : IClassFixture<Gpt2Fixture>
{
    readonly Gpt2Fixture gpt2;

    public TokenizerTests(Gpt2Fixture gpt2) => this.gpt2 = gpt2;

    [Fact]
    public void Gpt2IdsEqualTiktokenGpt2()
    {
        // An independent implementation (tiktoken ranks + OpenAI's regex) of the same encoding.
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        string text = "Hello, world! It's 2024: naïve café — 東京タワー 🚀🚀\n\n    def f(x):\n\treturn x**2  # ok\r\n"
                    + "I'm we'll they've she'd 12345 67.89 $100 ¯\\_(ツ)_/¯   trailing   \u00a0nbsp <|endoftext|> Ünïcödé";
        Assert.Equal(reference.EncodeToIds(text), gpt2.Tokenizer.EncodeToIds(text));
        foreach (string line in text.Split('\n'))
            Assert.Equal(reference.EncodeToIds(line), gpt2.Tokenizer.EncodeToIds(line));
        Assert.Equal(text, gpt2.Tokenizer.Decode(gpt2.Tokenizer.EncodeToIds(text), skipSpecialTokens: false));
    }

    [Fact]
    public void SentencePieceModelEncodesWithBosAndByteFallback()
    {
        using var folder = new TempFolder();
        TinySentencePiece.Write(folder.File("tokenizer.model"));
        var tokenizer = LlamaSentencePieceTokenizer.FromDirectory(folder.Path);
        Assert.Equal(new[] { 1, TinySentencePiece.The, TinySentencePiece.SpaceC, TinySentencePiece.At }, tokenizer.EncodeToIds("the cat"));
        Assert.Equal(new[] { TinySentencePiece.The }, tokenizer.EncodeToIds("the", addSpecialTokens: false));
        // "é" is not a piece: its UTF-8 bytes C3 A9 fall back to byte pieces (id = 3 + byte).
        Assert.Equal(new[] { 1, 259, 3 + 0xC3, 3 + 0xA9 }, tokenizer.EncodeToIds("é"));
        Assert.Equal("the cat", tokenizer.Decode(tokenizer.EncodeToIds("the cat")));
        Assert.Equal(1, tokenizer.SpecialTokens.Bos);
        Assert.Equal(2, tokenizer.SpecialTokens.Eos);
        Assert.Equal(270, tokenizer.VocabularySize);
    }

    [Fact]
    public void SentencePieceFramingFollowsTokenizerConfig()
    {
        using var folder = new TempFolder();
        TinySentencePiece.Write(folder.File("tokenizer.model"));
        File.WriteAllText(folder.File("tokenizer_config.json"), """{"add_bos_token": false, "add_eos_token": true, "pad_token": "<unk>"}""");
        var tokenizer = LlamaSentencePieceTokenizer.FromDirectory(folder.Path);
        Assert.Equal(new[] { TinySentencePiece.The, 2 }, tokenizer.EncodeToIds("the"));
        Assert.Equal(0, tokenizer.SpecialTokens.Pad);
    }
}
