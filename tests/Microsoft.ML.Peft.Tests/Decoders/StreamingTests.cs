using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Tests.Tokenization;

namespace Microsoft.ML.Peft.Tests.Decoders;

/// <summary>Text-level generation on a tiny GPT-2 with the real GPT-2 tokenizer.</summary>
public sealed class StreamingTests : IClassFixture<Gpt2Fixture>, IDisposable
{
    readonly Gpt2Fixture gpt2;
    readonly Microsoft.ML.Peft.Models.Gpt2.Gpt2LMHeadModel model;
    readonly TextGenerator generator;

    public StreamingTests(Gpt2Fixture gpt2)
    {
        this.gpt2 = gpt2;
        model = TinyDecoders.Gpt2Model(vocab: 50257, seed: 21);
        generator = new TextGenerator(model, gpt2.Tokenizer);
    }

    public void Dispose() => model.Dispose();

    static GenerationOptions Options(params string[] stops) => new() { MaxNewTokens = 20, EosTokenIds = Array.Empty<int>(), StopSequences = stops };

    [Fact]
    public async Task StreamedPiecesJoinToTheGeneratedText()
    {
        string whole = generator.Generate("The quick brown fox", Options());
        var pieces = new List<string>();
        await foreach (string piece in generator.GenerateStreamAsync("The quick brown fox", Options())) pieces.Add(piece);
        Assert.True(pieces.Count > 1);
        Assert.Equal(whole, string.Concat(pieces));
    }

    [Fact]
    public async Task StopTextEndsGenerationAndIsCutFromTheText()
    {
        var ids = generator.GenerateIds(new[] { gpt2.Tokenizer.EncodeToIds("Once upon") }, Options())[0];
        string full = gpt2.Tokenizer.Decode(ids);
        // Stop at a piece of text the free run produces in its middle.
        string stop = full.Substring(full.Length / 2, 2);
        string cut = generator.Generate("Once upon", Options(stop));
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], cut);
        var stoppedIds = generator.GenerateIds(new[] { gpt2.Tokenizer.EncodeToIds("Once upon") }, Options(stop))[0];
        Assert.True(stoppedIds.Length < ids.Length);
        Assert.Equal(ids.Take(stoppedIds.Length), stoppedIds);

        var pieces = new List<string>();
        await foreach (string piece in generator.GenerateStreamAsync("Once upon", Options(stop))) pieces.Add(piece);
        Assert.Equal(cut, string.Concat(pieces));
    }

    [Fact]
    public async Task StreamingRejectsBeamsAndEmptyPrompts()
    {
        await Assert.ThrowsAsync<NotSupportedException>(async () =>
        {
            await foreach (var _ in generator.GenerateStreamAsync("hi", new GenerationOptions { NumBeams = 2 })) { }
        });
        var e = await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var _ in generator.GenerateStreamAsync("", Options())) { }
        });
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void BatchOfTextsEqualsEachTextAlone()
    {
        var prompts = new[] { "Hello", "A much longer prompt than the first one", "Short" };
        var batch = generator.Generate(prompts, Options());
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(generator.Generate(prompts[i], Options()), batch[i]);
    }

    [Fact]
    public void BeamSearchWithSeveralBeamsRunsOnText()
    {
        string text = generator.Generate("Hello", new GenerationOptions { MaxNewTokens = 6, NumBeams = 3, EosTokenIds = Array.Empty<int>() });
        Assert.False(string.IsNullOrEmpty(text));
    }
}
