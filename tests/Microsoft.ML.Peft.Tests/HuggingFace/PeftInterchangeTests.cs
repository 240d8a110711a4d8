using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Models;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Interchange with Hugging Face PEFT itself, on fixtures written by <c>make_peft_reference.py</c>: an adapter PEFT
/// saved must load strictly with <see cref="PeftMethods.Load"/> and give PEFT's logits, and an adapter we saved must give
/// the logits PEFT computed from it (within 1e-4 over real tokens; virtual tokens in front count as real).
/// </summary>
public sealed class PeftInterchangeTests(ITestOutputHelper output)
{
    static readonly string[] FromPeftNames =
    {
        "gpt2_lora", "llama_lora_rslora", "llama_lora_patterns", "llama_dora", "qwen2_lora", "gpt2_ia3", "llama_ia3",
        "gpt2_prompt", "llama_prompt", "gpt2_prefix", "llama_prefix", "gpt2_ptuning",
    };

    static readonly string[] ToPeftNames =
    {
        "gpt2_lora", "llama_lora_all_linear", "gpt2_ia3", "llama_ia3", "gpt2_prompt", "llama_prompt", "gpt2_prefix",
        "llama_prefix", "gpt2_ptuning",
    };

    public static TheoryData<string> FromPeftCases => new(FromPeftNames);

    public static TheoryData<string> ToPeftCases => new(ToPeftNames);

    [Theory]
    [MemberData(nameof(FromPeftCases))]
    public void Adapter_saved_by_peft_gives_peft_logits(string name) => Check(PeftInterchangeFixture.FromPeft, name);

    [Theory]
    [MemberData(nameof(ToPeftCases))]
    public void Adapter_saved_by_us_gives_the_logits_peft_computes_from_it(string name) => Check(PeftInterchangeFixture.ToPeft, name);

    [Theory]
    [InlineData(PeftInterchangeFixture.FromPeft)]
    [InlineData(PeftInterchangeFixture.ToPeft)]
    public void Every_committed_fixture_is_a_listed_case(string direction)
    {
        // from_peft also holds make_encoder_reference.py's classifier adapters, which EncoderParityTests checks.
        var listed = direction == PeftInterchangeFixture.FromPeft
            ? FromPeftNames.Concat(EncoderParityTests.EncoderNames.Select(e => $"{e}_lora_seq_cls"))
            : ToPeftNames;
        var committed = Directory.GetDirectories(PeftInterchangeFixture.Root(direction)).Select(Path.GetFileName).Order();
        Assert.Equal(listed.Order(), committed!);
    }

    void Check(string direction, string name)
    {
        string folder = Path.Combine(PeftInterchangeFixture.Root(direction), name);
        Assert.True(PeftInterchangeFixture.Exists(folder), HfReferenceFixture.Missing(folder));
        using var fixture = PeftInterchangeFixture.Open(folder);
        string where = $"{direction}/{name} (written by {fixture.Versions})";

        using var module = (nn.Module)PretrainedDecoder.FromDirectory(fixture.BaseFolder).LoadModel();
        var model = (ICausalLM)module;
        var peft = PeftMethods.Load(module, fixture.AdapterFolder);   // strict: a key or field we cannot place throws
        Assert.Equal(fixture.PeftType, peft.PeftType);
        module.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        double max = RealTokenDifference.AssertWithin(model.forward(fixture.InputIds, fixture.AttentionMask, fixture.PositionIds),
            fixture.Logits, fixture.AttentionMask, fixture.LogitsTolerance, "ours - PEFT", where);
        output.WriteLine($"{where}: {fixture.PeftType}, max |ours - PEFT| {max:G3} over real tokens");
    }
}
