using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tokenization;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>GPT-2's real vocabulary as tokenizer.json against the vocab.json + merges.txt path and against tiktoken.</summary>
public sealed class HuggingFaceByteLevelTests : IClassFixture<Gpt2Fixture>
{
    // Unicode, runs of spaces, newlines and tabs, digits, emoji, contractions and a special token mid-text.
    internal const string VariedText = "Hello, world! It's 2024: naïve café — 東京タワー 🚀🚀 👩‍👩‍👧\n\n    def f(x):\n\treturn x**2  # ok\r\n"
        + "I'm we'll they've she'd 12345 67.89 $100 ¯\\_(ツ)_/¯   trailing   \u00a0nbsp <|endoftext|> Ünïcödé  ";

    readonly Gpt2Fixture gpt2;

    public HuggingFaceByteLevelTests(Gpt2Fixture gpt2) => this.gpt2 = gpt2;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gpt2TokenizerJsonGivesTiktokenIdsAndDecodesExactly(bool pairMerges)
    {
        using var folder = new TempFolder();
        TokenizerJsonFixtures.Write(TokenizerJsonFixtures.Gpt2(gpt2, pairMerges), folder.File("tokenizer.json"));
        var tokenizer = HuggingFaceTokenizer.FromDirectory(folder.Path);
        var tiktoken = TiktokenTokenizer.CreateForModel("gpt2");

        Assert.True(tokenizer.IsByteLevel);
        IReadOnlyList<int> ids = tokenizer.EncodeToIds(VariedText);
        Assert.Equal(tiktoken.EncodeToIds(VariedText), ids);
        Assert.Equal(gpt2.Tokenizer.EncodeToIds(VariedText), ids);
        Assert.Contains(Gpt2Fixture.EndOfText, ids);  // the added token is matched whole, not spelled out
        foreach (string line in VariedText.Split('\n'))
            Assert.Equal(tiktoken.EncodeToIds(line), tokenizer.EncodeToIds(line));
        Assert.Equal(VariedText, tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal(VariedText.Replace("<|endoftext|>", "", StringComparison.Ordinal), tokenizer.Decode(ids));
        Assert.Equal(50257, tokenizer.VocabularySize);
        Assert.Empty(tokenizer.Template.Prefix);  // GPT-2 adds no BOS
    }

    [Fact]
    public void Llama3StyleSplitPreTokenizerWithIgnoreMergesAndTemplateBos()
    {
        using var folder = new TempFolder();
        TokenizerJsonFixtures.Write(TokenizerJsonFixtures.Llama3Style(gpt2), folder.File("tokenizer.json"));
        var tokenizer = HuggingFaceTokenizer.FromDirectory(folder.Path);
        var tiktoken = TiktokenTokenizer.CreateForModel("gpt2");

        IReadOnlyList<int> ids = tokenizer.EncodeToIds(VariedText, addSpecialTokens: false);
        Assert.Equal(tiktoken.EncodeToIds(VariedText), ids);
        Assert.Equal([Gpt2Fixture.EndOfText, .. ids], tokenizer.EncodeToIds(VariedText));
        Assert.Equal(VariedText, tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void IgnoreMergesTakesAWordThatIsInTheVocabularyWhole()
    {
        // "abc" is in the vocabulary but no merge builds it: merging stops at "ab" + "c" unless ignore_merges is set.
        JsonObject Tiny(bool ignoreMerges) => new()
        {
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["ignore_merges"] = ignoreMerges,
                ["vocab"] = new JsonObject { ["a"] = 0, ["b"] = 1, ["c"] = 2, ["ab"] = 3, ["abc"] = 4, ["Ġ"] = 5 },
                ["merges"] = new JsonArray("a b"),
            },
        };
        using var folder = new TempFolder();
        TokenizerJsonFixtures.Write(Tiny(false), folder.File("merging.json"));
        TokenizerJsonFixtures.Write(Tiny(true), folder.File("ignoring.json"));
        Assert.Equal([3, 2, 5, 3], HuggingFaceTokenizer.FromFile(folder.File("merging.json")).EncodeToIds("abc ab"));
        Assert.Equal([4, 5, 3], HuggingFaceTokenizer.FromFile(folder.File("ignoring.json")).EncodeToIds("abc ab"));
    }
}
