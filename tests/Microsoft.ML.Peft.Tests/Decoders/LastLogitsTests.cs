using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tests.DecoderMethods;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Decoders;

/// <summary>
/// <see cref="ICausalLM.LastLogits"/>, which generation calls, runs the head on the last position only; it must give the
/// last row of <see cref="ICausalLM.forward"/>'s logits, on a left-padded batch, without and with a cache, also under LoRA
/// (on every linear layer, or on the head itself) and with virtual tokens or prefixes in front.
/// </summary>
public sealed class LastLogitsTests
{
    public static TheoryData<string, string> Cases()
    {
        var cases = DecoderCases.Matrix(new[] { "none", "lora-all-linear", "prompt", "prefix" });
        cases.Add("lora-head", "llama");  // LoRA hooked on the untied lm_head (GPT-2's head is tied: no module to hook)
        return cases;
    }

    static IPeftMethodOptions Method(string name) => name == "lora-head"
        ? new LoraOptions { Rank = 4, Alpha = 8, TargetModules = TargetModules.Of("q_proj", "lm_head") }
        : DecoderCases.Method(name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Last_logits_are_the_last_row_of_the_full_logits(string method, string family)
    {
        using var scope = NewDisposeScope();
        var module = DecoderCases.Model(family);
        if (method != "none")
        {
            torch.manual_seed(7);
            Method(method).Apply(module);
            if (method == "lora-head") Assert.Contains(module.named_parameters(), p => p.name.StartsWith("lm_head.lora_", StringComparison.Ordinal));
            using (no_grad())
                foreach (var parameter in module.parameters().Where(p => p.requires_grad))
                    parameter.add_(randn_like(parameter) * 0.3);  // LoRA's B starts at zero: move it so that the hooks act
        }
        module.eval();
        var model = (ICausalLM)module;
        var (ids, mask) = PromptBatch.LeftPadded(TinyDecoders.Prompts, padId: 0, model.Device);
        using var noGrad = no_grad();

        AssertLastRow(model.forward(ids, mask), model.LastLogits(ids, mask), "without a cache");

        using var fullCache = new KvCache(model.NumLayers);
        using var lastCache = new KvCache(model.NumLayers);
        AssertLastRow(model.forward(ids, mask, null, fullCache), model.LastLogits(ids, mask, null, lastCache), "prefill");
        var next = tensor(new long[] { 4, 50, 6 }, new long[] { 3, 1 });                 // one new token per row
        var grown = cat(new[] { mask, ones_like(next) }, 1);                             // (B, past + 1)
        AssertLastRow(model.forward(next, grown, null, fullCache), model.LastLogits(next, grown, null, lastCache), "a cached step");
    }

    static void AssertLastRow(Tensor full, Tensor last, string when)
    {
        var expected = full.select(1, -1);  // (B, vocab)
        Assert.Equal(expected.shape, last.shape);
        float difference = (last - expected).abs().max().item<float>();
        Assert.True(difference < 1e-5, $"{when}: last logits differ from the full logits' last row by {difference:E2}");
    }
}
