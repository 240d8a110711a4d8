using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Gpt2;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>(IA)^3 on GPT-2's Conv1D layers (weights stored (in, out)) and on LLaMA, with PEFT's defaults.</summary>
public sealed class IA3DecoderTests
{
    [Fact]
    public void Gpt2_defaults_target_c_attn_and_the_mlp_projection_with_peft_vector_shapes()
    {
        using var scope = NewDisposeScope();
        var module = DecoderCases.Model("gpt2");
        var ia3 = IA3Model.Create(module, new IA3Options());
        Assert.Equal(new[] { "transformer.h.0.attn.c_attn", "transformer.h.0.mlp.c_proj", "transformer.h.1.attn.c_attn", "transformer.h.1.mlp.c_proj" }, ia3.TargetedModules);
        Assert.Equal(new[] { "transformer.h.0.mlp.c_proj", "transformer.h.1.mlp.c_proj" }, ia3.FeedforwardTargets);
        var shapes = module.named_parameters().Where(p => p.name.Contains("ia3_l")).ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(new long[] { 48, 1 }, shapes["transformer.h.0.attn.c_attn.ia3_l.default"]);   // (out, 1): q, k and v of width 16
        Assert.Equal(new long[] { 1, 64 }, shapes["transformer.h.0.mlp.c_proj.ia3_l.default"]);    // (1, in): the 4 × 16 activation
        Assert.Equal(2 * (48 + 64), ia3.TrainableParameters().Trainable);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Merged_equals_unmerged_and_unmerge_restores_the_weights(string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var module = DecoderCases.Model(family);
        var model = (ICausalLM)module;
        var baseWeights = module.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var ia3 = IA3Model.Create(module, new IA3Options());
        torch.manual_seed(5);
        foreach (var p in ia3.TrainableParameterList()) p.copy_(torch.rand_like(p) + 0.5);  // vectors in [0.5, 1.5)
        var (ids, mask) = DecoderCases.Batch();
        var unmerged = model.forward(ids, mask);
        ia3.Merge();
        Assert.True(ia3.IsMerged);
        var merged = model.forward(ids, mask);
        double relative = (merged - unmerged).norm().item<float>() / unmerged.norm().item<float>();
        Assert.True(relative < 1e-5, $"{family}: merged differs from unmerged by {relative:E2} (relative)");
        Assert.False(DecoderCases.Same(baseWeights.First(w => w.Key.EndsWith("c_attn.weight") || w.Key.EndsWith("k_proj.weight")).Value,
                                 module.state_dict()[baseWeights.Keys.First(k => k.EndsWith("c_attn.weight") || k.EndsWith("k_proj.weight"))]));
        ia3.Unmerge();
        foreach (var (key, value) in baseWeights)
            Assert.True(torch.allclose(value, module.state_dict()[key], rtol: 1e-5, atol: 1e-6), $"{key} not restored by unmerge");

        var plain = ia3.MergeAndUnload();
        Assert.DoesNotContain(plain.named_parameters(), p => p.name.Contains("ia3_l"));
        var unloaded = ((ICausalLM)plain).forward(ids, mask);
        Assert.True((unloaded - unmerged).norm().item<float>() / unmerged.norm().item<float>() < 1e-5);
    }

    [Fact]
    public void A_conv1d_output_vector_scales_columns_and_a_feedforward_vector_scales_rows()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var module = (Gpt2LMHeadModel)DecoderCases.Model("gpt2");
        var cAttn = (Conv1D)module.Transformer.Blocks[0].Attention.CAttn;
        var cProj = (Conv1D)module.Transformer.Blocks[0].Mlp.named_modules().First(m => m.name == "c_proj").module;
        var attnWeight = cAttn.Weight.clone();  // (16, 48)
        var projWeight = cProj.Weight.clone(); // (64, 16)
        var ia3 = IA3Model.Create(module, new IA3Options());
        var vectors = module.named_parameters().Where(p => p.name.Contains("ia3_l")).ToDictionary(p => p.name, p => p.parameter);
        var l = vectors["transformer.h.0.attn.c_attn.ia3_l.default"];        // (48, 1)
        var f = vectors["transformer.h.0.mlp.c_proj.ia3_l.default"];         // (1, 64)
        l.copy_(torch.arange(1, 49, dtype: ScalarType.Float32).view(48, 1));
        f.copy_(torch.arange(1, 65, dtype: ScalarType.Float32).view(1, 64));
        ia3.Merge();
        Assert.True(torch.allclose(attnWeight * l.t(), cAttn.Weight));          // column j × l[j]
        Assert.True(torch.allclose(projWeight * f.t(), cProj.Weight));          // row i × f[i]
    }

    [Fact]
    public void The_saved_config_records_fan_in_fan_out_for_conv1d()
    {
        using var scope = NewDisposeScope();
        string folder = DecoderCases.TempFolder();
        try
        {
            IA3Model.Create(DecoderCases.Model("gpt2"), new IA3Options()).SaveAdapter(folder);
            var json = AdapterConfigFile.Read(folder);
            Assert.True(json["fan_in_fan_out"]!.GetValue<bool>());
            Assert.Equal(new[] { "mlp.c_proj" }, AdapterConfigFile.ReadStrings(json["feedforward_modules"]));
            Directory.Delete(folder, true);
            IA3Model.Create(DecoderCases.Model("llama"), new IA3Options()).SaveAdapter(folder);
            Assert.False(AdapterConfigFile.Read(folder)["fan_in_fan_out"]!.GetValue<bool>());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
