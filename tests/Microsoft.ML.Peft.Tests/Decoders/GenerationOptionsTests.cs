using Microsoft.ML.Peft.Generation;

namespace Microsoft.ML.Peft.Tests.Decoders;

public sealed class GenerationOptionsTests
{
    public static TheoryData<string, GenerationOptions> BadOptions => new()
    {
        { "MaxNewTokens", new GenerationOptions { MaxNewTokens = 0 } },
        { "MaxNewTokens", new GenerationOptions { MaxNewTokens = -3 } },
        { "TopP", new GenerationOptions { TopP = 0 } },
        { "TopP", new GenerationOptions { TopP = 1.5 } },
        { "Temperature", new GenerationOptions { DoSample = true, Temperature = 0 } },
        { "Temperature", new GenerationOptions { DoSample = true, Temperature = -1 } },
        { "NumBeams", new GenerationOptions { NumBeams = 0 } },
        { "TopK", new GenerationOptions { TopK = -1 } },
        { "RepetitionPenalty", new GenerationOptions { RepetitionPenalty = 0 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void BadOptionsFailNamingTheOptionAndValue(string option, GenerationOptions options)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(option, e.ParamName);
        Assert.Contains("GenerationOptions." + option, e.Message);
    }

    [Fact]
    public void GreedyIgnoresTemperature() => new GenerationOptions { Temperature = 0 }.Validate();

    [Fact]
    public void PromptErrorsNameTheProblem()
    {
        using var model = TinyDecoders.Gpt2Model();
        var generator = new TextGenerator(model);
        var empty = Assert.Throws<ArgumentException>(() => generator.GenerateIds(new[] { new[] { 1, 2 }, Array.Empty<int>() }));
        Assert.Contains("Prompt 1 is empty", empty.Message);
        var tooLong = Assert.Throws<ArgumentException>(() => generator.GenerateIds(new[] { Enumerable.Range(0, 60).ToArray() }, new GenerationOptions { MaxNewTokens = 10 }));
        Assert.Contains("60 tokens", tooLong.Message);
        Assert.Contains("MaxNewTokens = 10", tooLong.Message);
        Assert.Contains("64", tooLong.Message);
        var outside = Assert.Throws<ArgumentException>(() => generator.GenerateIds(new[] { new[] { 1, 500 } }));
        Assert.Contains("500", outside.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.GenerateIds(new[] { new[] { 1 } }, new GenerationOptions { MaxNewTokens = 0 }));
        var noTokenizer = Assert.Throws<InvalidOperationException>(() => generator.Generate("hi"));
        Assert.Contains("tokenizer", noTokenizer.Message);
    }
}
