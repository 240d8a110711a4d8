using System.Text.RegularExpressions;
using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>The Split behaviors of tokenizer.json, on the example of Hugging Face's documentation ("-" in "the-final--countdown").</summary>
public sealed class JsonPreTokenizerSplitTests
{
    [Theory]
    [InlineData("Removed", false, "the|final|countdown")]
    [InlineData("Isolated", false, "the|-|final|-|-|countdown")]
    [InlineData("MergedWithPrevious", false, "the-|final-|-|countdown")]
    [InlineData("MergedWithNext", false, "the|-final|-|-countdown")]
    [InlineData("Contiguous", false, "the|-|final|--|countdown")]
    [InlineData("Removed", true, "-|-|-")]
    public void SplitBehaviors(string behavior, bool invert, string expected)
    {
        var pieces = JsonPreTokenizer.Split(new JsonPreTokenizer.Piece("the-final--countdown", true), new Regex("-"), behavior, invert);
        Assert.Equal(expected, string.Join("|", pieces.Select(p => p.Text)));
        // Only a piece that begins the text keeps AtStart (Metaspace's "first" scheme relies on it).
        Assert.Equal(expected.StartsWith("the", StringComparison.Ordinal), pieces[0].AtStart);
        Assert.All(pieces.Skip(1), p => Assert.False(p.AtStart));
    }
}
