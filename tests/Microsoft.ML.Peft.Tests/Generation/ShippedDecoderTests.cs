using Microsoft.ML.Peft.Generation;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>The small decoder shipped in <c>samples/Generation/Model</c> (pretrained on Moby-Dick) loads and generates.</summary>
public sealed class ShippedDecoderTests
{
    static string ModelFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Peft.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return Path.Combine(dir!.FullName, "samples", "Generation", "Model");
    }

    [Fact]
    public void Loads_strictly_and_greedy_generates_deterministically()
    {
        var decoder = PretrainedDecoder.FromDirectory(ModelFolder());
        Assert.Equal("gpt2", decoder.ModelType);
        Assert.True(decoder.Gpt2Config!.VocabSize <= 1024);
        var generator = decoder.CreateGenerator();
        var options = new GenerationOptions { MaxNewTokens = 24 };
        string first = generator.Generate("Call me Ishmael. The whale", options);
        string second = generator.Generate("Call me Ishmael. The whale", options);
        Assert.Equal(first, second);
        Assert.False(string.IsNullOrWhiteSpace(first));
        // Byte-level BPE round-trips any text exactly.
        const string text = "The sea—wide, grey; «Pequod» 1851.";
        Assert.Equal(text, decoder.Tokenizer.Decode(decoder.Tokenizer.EncodeToIds(text)));
    }
}
