using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>QLoRA on GPT-2: its Conv1D layers (weights (in, out)) quantized to NF4 as linear layers, as bitsandbytes does.</summary>
public sealed class QLoraGpt2Tests
{
    static QLoraOptions Options() => new() { Lora = new LoraOptions { Rank = 4, Alpha = 8 }, Quantization = new QuantizationOptions { ComputeDType = ScalarType.Float32 } };

    [Fact]
    public void Every_block_conv1d_becomes_4_bit_and_lora_wraps_c_attn_without_fan_in_fan_out()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var module = DecoderCases.Model("gpt2");
        var (ids, mask) = DecoderCases.Batch();
        var full = ((ICausalLM)module).forward(ids, mask);
        var qlora = QLoraModel.Create(module, Options());
        var quantized = BaseQuantizer.QuantizedLayers(module).Select(l => l.Name).ToList();
        Assert.Equal(8, quantized.Count);
        Assert.Contains("transformer.h.1.mlp.c_fc", quantized);
        Assert.All(BaseQuantizer.QuantizedLayers(module), l => Assert.True(l.Layer.WasConv1D));
        Assert.Equal(new long[] { 48, 16 }, new[] { BaseQuantizer.QuantizedLayers(module)[0].Layer.OutFeatures, BaseQuantizer.QuantizedLayers(module)[0].Layer.InFeatures });
        Assert.False(qlora.Lora.GetOptions().FanInFanOut);  // the 4-bit layer stores (out, in), as PEFT's bnb layers

        // At init LoRA adds nothing to the 4-bit model, which stays near the full-precision one (NF4 error only).
        var quantizedLogits = ((ICausalLM)module).forward(ids, mask);
        using (qlora.DisableAdapters()) Assert.True(DecoderCases.Same(quantizedLogits, ((ICausalLM)module).forward(ids, mask)));
        double relative = (quantizedLogits - full).norm().item<float>() / full.norm().item<float>();
        Assert.True(relative < 0.2, $"NF4 GPT-2 differs from full precision by {relative:P1}");
    }

    [Fact]
    public void Merge_and_unload_gives_conv1d_layers_back_with_the_adapter_folded_in()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var module = DecoderCases.Model("gpt2");
        var shapes = module.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);
        var qlora = QLoraModel.Create(module, Options());
        DecoderCases.Perturb(qlora);
        var (ids, mask) = DecoderCases.Batch();
        var adapted = ((ICausalLM)module).forward(ids, mask);
        var merged = qlora.MergeAndUnload();
        Assert.Equal(shapes.Keys.OrderBy(k => k), merged.state_dict().Keys.OrderBy(k => k));
        foreach (var (key, value) in merged.state_dict()) Assert.Equal(shapes[key], value.shape);
        Assert.IsType<Conv1D>(merged.named_modules().First(m => m.name == "transformer.h.0.attn.c_attn").module);
        var after = ((ICausalLM)merged).forward(ids, mask);
        double relative = (after - adapted).norm().item<float>() / adapted.norm().item<float>();
        Assert.True(relative < 1e-5, $"merged differs from the QLoRA model by {relative:E2}");
    }

    [Fact]
    public void Save_then_load_into_a_fresh_gpt2_gives_identical_logits()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var module = DecoderCases.Model("gpt2");
        var qlora = QLoraModel.Create(module, Options());
        DecoderCases.Perturb(qlora);
        var (ids, mask) = DecoderCases.Batch();
        var expected = ((ICausalLM)module).forward(ids, mask);
        string folder = DecoderCases.TempFolder();
        try
        {
            qlora.SaveAdapter(folder);
            var fresh = DecoderCases.Model("gpt2");
            var loaded = PeftMethods.Load(fresh, folder);
            Assert.IsType<QLoraModel>(loaded);
            Assert.True(DecoderCases.Same(expected, ((ICausalLM)fresh).forward(ids, mask)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
