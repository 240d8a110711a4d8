using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Decoders;
using Microsoft.ML.Peft.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>A Llama 2 style tokenizer.json against Microsoft.ML.Tokenizers' LlamaTokenizer on the same tiny model.</summary>
public sealed class HuggingFaceSentencePieceTests
{
    // Pieces of the tiny vocabulary, and characters it lacks (byte fallback: 2-, 3- and 4-byte UTF-8, controls).
    public static TheoryData<string> Texts() => new()
    {
        "the cat",
        "the  hat\nthe cat é",
        "東京 🚀 123, that's it!",
        " leading space and trailing  ",
        "tab\there\r\nç",
        "a",
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void SameIdsAsLlamaTokenizerAndDecodesBack(string text)
    {
        using var folder = new TempFolder();
        TinySentencePiece.Write(folder.File("tokenizer.model"));
        using var stream = File.OpenRead(folder.File("tokenizer.model"));
        var reference = LlamaTokenizer.Create(stream, addBeginOfSentence: true, addEndOfSentence: false);
        foreach (bool metaspace in new[] { false, true })
        {
            TokenizerJsonFixtures.Write(TokenizerJsonFixtures.TinyLlama2(metaspace), folder.File("tokenizer.json"));
            var tokenizer = HuggingFaceTokenizer.FromDirectory(folder.Path);
            Assert.False(tokenizer.IsByteLevel);
            IReadOnlyList<int> ids = tokenizer.EncodeToIds(text);
            Assert.Equal(1, ids[0]);  // BOS from the post-processor template
            if (metaspace && text.StartsWith(' '))
            {
                // Hugging Face's Metaspace prepends "▁" only when the text does not already start with one (a space),
                // so unlike SentencePiece it gives one "▁" for a leading space, and decoding drops that space.
                Assert.Equal(reference.EncodeToIds(text).Where((_, i) => i != 1), ids);
                Assert.Equal(text[1..], tokenizer.Decode(ids));
                continue;
            }

            Assert.Equal(reference.EncodeToIds(text), ids);
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void ByteFallbackAndMergesGiveTheExpectedPieces()
    {
        using var folder = new TempFolder();
        TokenizerJsonFixtures.Write(TokenizerJsonFixtures.TinyLlama2(), folder.File("tokenizer.json"));
        var tokenizer = HuggingFaceTokenizer.FromDirectory(folder.Path);
        Assert.Equal([1, TinySentencePiece.The, TinySentencePiece.SpaceC, TinySentencePiece.At], tokenizer.EncodeToIds("the cat"));
        // "é" is not a piece: its UTF-8 bytes C3 A9 fall back to <0xC3> <0xA9> (id = 3 + byte).
        Assert.Equal([259, 3 + 0xC3, 3 + 0xA9], tokenizer.EncodeToIds("é", addSpecialTokens: false));
        Assert.Equal("<0xC3>", tokenizer.IdToToken(3 + 0xC3));
        Assert.Equal(TinySentencePiece.The, tokenizer.TokenToId("\u2581the"));
        // A lone continuation byte is not UTF-8: Hugging Face's ByteFallback decoder gives U+FFFD for it.
        Assert.Equal("\uFFFD", tokenizer.Decode([3 + 0xA9]));
        Assert.Equal(270, tokenizer.VocabularySize);
    }
}
