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
    const string NotGeneratedReason =
        "Hugging Face PEFT fixtures not generated yet: run make_peft_reference.py on a machine with transformers and peft " +
        "(see tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/README.md).";

    public static TheoryData<string> FromPeftCases => new(
        "gpt2_lora", "llama_lora_rslora", "llama_lora_patterns", "llama_dora", "qwen2_lora", "gpt2_ia3", "llama_ia3",
        "gpt2_prompt", "llama_prompt", "gpt2_prefix", "llama_prefix", "gpt2_ptuning");

    public static TheoryData<string> ToPeftCases => new(
        "gpt2_lora", "llama_lora_all_linear", "gpt2_ia3", "llama_ia3", "gpt2_prompt", "llama_prompt", "gpt2_prefix",
        "llama_prefix", "gpt2_ptuning");

    [SkippableTheory]
    [MemberData(nameof(FromPeftCases))]
    public void Adapter_saved_by_peft_gives_peft_logits(string name) => Check(PeftInterchangeFixture.FromPeft, name);

    [SkippableTheory]
    [MemberData(nameof(ToPeftCases))]
    public void Adapter_saved_by_us_gives_the_logits_peft_computes_from_it(string name) => Check(PeftInterchangeFixture.ToPeft, name);

    void Check(string direction, string name)
    {
        string folder = Path.Combine(PeftInterchangeFixture.Root(direction), name);
        Skip.IfNot(PeftInterchangeFixture.Exists(folder), NotGeneratedReason);
        using var fixture = PeftInterchangeFixture.Open(folder);
        string where = $"{direction}/{name} (written by {fixture.Versions})";

        var model = PretrainedDecoder.FromDirectory(fixture.BaseFolder).LoadModel();
        var module = (nn.Module)model;
        try
        {
            var peft = PeftMethods.Load(module, fixture.AdapterFolder);   // strict: a key or field we cannot place throws
            Assert.Equal(fixture.PeftType, peft.PeftType);
            module.eval();
            double max = MaxDifferenceOverRealTokens(model, fixture, where);
            output.WriteLine($"{where}: {fixture.PeftType}, max |ours - PEFT| {max:G3} over real tokens");
        }
        finally
        {
            module.Dispose();
        }
    }

    static double MaxDifferenceOverRealTokens(ICausalLM model, PeftInterchangeFixture fixture, string where)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(fixture.InputIds, fixture.AttentionMask, fixture.PositionIds).to(ScalarType.Float32);
        Assert.True(logits.shape.SequenceEqual(fixture.Logits.shape),
            $"{where}: logits shape [{string.Join(", ", logits.shape)}], PEFT's [{string.Join(", ", fixture.Logits.shape)}].");
        long virtualTokens = logits.shape[1] - fixture.AttentionMask.shape[1];
        var real = fixture.AttentionMask.eq(1);
        if (virtualTokens > 0) real = cat(new[] { ones(real.shape[0], virtualTokens, ScalarType.Bool), real }, 1);
        var perToken = (logits - fixture.Logits).abs().amax(new long[] { -1 }).masked_fill(real.logical_not(), 0);   // (B, n + T)
        double max = perToken.max().item<float>();
        if (!(max < fixture.LogitsTolerance))
        {
            long flat = perToken.reshape(-1).argmax().item<long>(), length = perToken.shape[1];
            Assert.Fail($"{where}: max |ours - PEFT| over real tokens is {max:G3} (tolerance {fixture.LogitsTolerance:G3}), " +
                        $"largest at row {flat / length}, position {flat % length}.");
        }
        return max;
    }
}
