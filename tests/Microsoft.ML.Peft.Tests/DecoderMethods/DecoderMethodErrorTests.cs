using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>Methods that cannot act on a decoder say why, naming the option or module.</summary>
public sealed class DecoderMethodErrorTests
{
    [Fact]
    public void BitFit_on_a_llama_without_biases_names_the_missing_biases()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => new BitFitOptions().Apply(DecoderCases.Model("llama")));
        Assert.Contains("bias", e.Message);
        Assert.Contains("attention_bias", e.Message);
    }

    [Fact]
    public void IA3_targets_that_match_nothing_list_the_conv1d_candidates()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => new IA3Options { TargetModules = TargetModules.Of("nope"), FeedforwardModules = Array.Empty<string>() }.Apply(DecoderCases.Model("gpt2")));
        Assert.Contains("transformer.h.0.attn.c_attn", e.Message);
    }

    [Fact]
    public void A_second_prompt_method_on_the_same_decoder_is_refused()
    {
        using var scope = NewDisposeScope();
        var model = DecoderCases.Model("llama");
        new PromptTuningOptions { NumVirtualTokens = 2 }.Apply(model);
        Assert.Contains("already has a prompt", Assert.Throws<InvalidOperationException>(() => new PromptTuningOptions().Apply(model)).Message);
    }

    [Fact]
    public void Adapters_on_a_model_without_blocks_name_the_model_type()
    {
        using var scope = NewDisposeScope();
        using var linear = nn.Linear(4, 4);
        var e = Assert.Throws<NotSupportedException>(() => new BottleneckAdapterOptions().Apply(linear));
        Assert.Contains("GPT-2", e.Message);
        Assert.Contains("Linear", e.Message);
    }
}
