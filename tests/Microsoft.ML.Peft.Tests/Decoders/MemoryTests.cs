using Microsoft.ML.Peft.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Decoders;

/// <summary>Generation leaves no live tensor behind, however many steps it ran (dispose discipline).</summary>
public sealed class MemoryTests
{
    static long Live() => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [Theory]
    [InlineData("gpt2", 1)]
    [InlineData("gpt2", 3)]
    [InlineData("llama", 1)]
    [InlineData("llama", 2)]
    public void GenerationLeavesNoLiveTensors(string kind, int beams)
    {
        using var model = kind == "gpt2" ? (nn.Module)TinyDecoders.Gpt2Model() : TinyDecoders.LlamaModel(TinyDecoders.Llama());
        var generator = new TextGenerator((Microsoft.ML.Peft.Models.ICausalLM)model);
        generator.GenerateIds(TinyDecoders.Prompts, new GenerationOptions { MaxNewTokens = 2, NumBeams = beams });   // warm-up
        long before = Live();
        generator.GenerateIds(TinyDecoders.Prompts, new GenerationOptions { MaxNewTokens = 30, NumBeams = beams, EosTokenIds = Array.Empty<int>() });
        generator.GenerateIds(TinyDecoders.Prompts, new GenerationOptions { MaxNewTokens = 30, DoSample = true, TopK = 5, TopP = 0.9, RepetitionPenalty = 1.3, Seed = 1, EosTokenIds = Array.Empty<int>() });
        Assert.Equal(before, Live());
    }
}
