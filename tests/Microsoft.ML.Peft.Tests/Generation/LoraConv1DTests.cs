using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Decoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>LoRA on GPT-2's Conv1D (weights stored (in, out), PEFT's <c>fan_in_fan_out</c>).</summary>
public sealed class LoraConv1DTests
{
    static Tensor Logits(Gpt2LMHeadModel model)
    {
        using var ids = TinyDecoders.Ids(3, 14, 15, 92, 65, 35, 89, 79);
        using (no_grad()) return model.forward(ids).detach();
    }

    // B starts at zero; give it values so the adapter changes the output.
    static void Perturb(LoraModel lora, int seed = 3)
    {
        torch.manual_seed(seed);
        using (no_grad())
            foreach (var (name, p) in lora.Model.named_parameters())
                if (name.Contains("lora_B")) p.normal_(0, 0.2);
    }

    [Fact]
    public void Targets_c_attn_and_starts_equal_to_the_base()
    {
        using var scope = NewDisposeScope();
        var model = TinyDecoders.Gpt2Model();
        var before = Logits(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8, TargetModules = TargetModules.Of("c_attn") });
        Assert.Equal(new[] { "transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn" }, lora.TargetedModules);
        Assert.True(lora.GetOptions().FanInFanOut);
        Assert.Equal("CAUSAL_LM", lora.GetOptions().TaskType);
        Assert.Equal(0f, (before - Logits(model)).abs().max().item<float>());
        // (r, in) and (out, r) for a Conv1D of weight (in=16, out=48).
        var names = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(new long[] { 4, 16 }, names["transformer.h.0.attn.c_attn.lora_A.default.weight"]);
        Assert.Equal(new long[] { 48, 4 }, names["transformer.h.0.attn.c_attn.lora_B.default.weight"]);
    }

    [Fact]
    public void Merged_equals_unmerged_and_adds_the_transposed_update()
    {
        using var scope = NewDisposeScope();
        var model = TinyDecoders.Gpt2Model();
        var baseLogits = Logits(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8, TargetModules = TargetModules.Of("c_attn") });
        Perturb(lora);
        var unmerged = Logits(model);
        Assert.False(torch.allclose(unmerged, baseLogits, 1e-3, 1e-3));

        var conv = (Conv1D)model.named_modules().First(m => m.name == "transformer.h.0.attn.c_attn").module;
        var before = conv.Weight.detach().clone();
        lora.Merge();
        var merged = Logits(model);
        double rel = (merged - unmerged).abs().max().item<float>() / unmerged.abs().max().item<float>();
        Assert.True(rel < 1e-5, $"relative error {rel}");

        // W (in, out) gained scaling * (B @ A)ᵀ.
        var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var a = p["transformer.h.0.attn.c_attn.lora_A.default.weight"];
        var b = p["transformer.h.0.attn.c_attn.lora_B.default.weight"];
        var expected = before + b.matmul(a).t() * 2.0;
        Assert.True(torch.allclose(conv.Weight, expected, 1e-6, 1e-6));

        lora.Unmerge();
        Assert.True(torch.allclose(conv.Weight, before, 1e-6, 1e-6));
        Assert.True(torch.allclose(Logits(model), unmerged, 1e-5, 1e-5));
    }

    [Fact]
    public void Save_and_load_round_trip_in_peft_format()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var model = TinyDecoders.Gpt2Model();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 2, Alpha = 4, TargetModules = TargetModules.Of("c_attn") });
        Perturb(lora);
        var expected = Logits(model);
        lora.SaveAdapter(folder.Path);

        var config = JsonNode.Parse(File.ReadAllText(folder.File("adapter_config.json")))!;
        Assert.True(config["fan_in_fan_out"]!.GetValue<bool>());
        using (var file = Microsoft.ML.Peft.Checkpoints.SafeTensorsCheckpoint.Open(folder.File("adapter_model.safetensors")))
            Assert.Contains("base_model.model.transformer.h.1.attn.c_attn.lora_B.weight", file.Keys);

        var fresh = TinyDecoders.Gpt2Model();
        LoraModel.Load(fresh, folder.Path);
        Assert.Equal(0f, (expected - Logits(fresh)).abs().max().item<float>());
    }

    [Fact]
    public void Unknown_targets_list_the_adaptable_layers()
    {
        var e = Assert.Throws<ArgumentException>(() => LoraModel.Create(TinyDecoders.Gpt2Model(), new LoraOptions { TargetModules = TargetModules.Of("q_proj") }));
        Assert.Contains("transformer.h.0.attn.c_attn", e.Message);
        Assert.Contains("transformer.h.0.mlp.c_fc", e.Message);
    }
}
