using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>Bottleneck adapters in GPT-2 and LLaMA blocks: where they sit and what they read.</summary>
public sealed class BottleneckAdapterDecoderTests
{
    [Theory]
    [InlineData("gpt2", BottleneckAdapterKind.Pfeiffer, "transformer.h.0.mlp,transformer.h.1.mlp")]
    [InlineData("gpt2", BottleneckAdapterKind.Houlsby, "transformer.h.0.attn,transformer.h.0.mlp,transformer.h.1.attn,transformer.h.1.mlp")]
    [InlineData("gpt2", BottleneckAdapterKind.Parallel, "transformer.h.0.mlp,transformer.h.1.mlp")]
    [InlineData("llama", BottleneckAdapterKind.Pfeiffer, "model.layers.0.mlp,model.layers.1.mlp")]
    [InlineData("llama", BottleneckAdapterKind.Houlsby, "model.layers.0.self_attn,model.layers.0.mlp,model.layers.1.self_attn,model.layers.1.mlp")]
    [InlineData("llama", BottleneckAdapterKind.Parallel, "model.layers.0.mlp,model.layers.1.mlp")]
    public void Adapters_sit_in_every_block_under_the_sub_layer(string family, BottleneckAdapterKind kind, string expected)
    {
        using var scope = NewDisposeScope();
        var module = DecoderCases.Model(family);
        var peft = BottleneckAdapterModel.Create(module, new BottleneckAdapterOptions { Kind = kind, ReductionFactor = 4 });
        Assert.Equal(expected.Split(','), peft.AdaptedModules);
        int hidden = family == "gpt2" ? 16 : 32, bottleneck = hidden / 4;
        int perAdapter = 2 * hidden * bottleneck + bottleneck + hidden;
        Assert.Equal(peft.AdaptedModules.Count * perAdapter, peft.TrainableParameters().Trainable);
        Assert.Contains(module.named_parameters(), p => p.name == expected.Split(',')[0] + ".adapter.adapter_down.weight");
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void A_sequential_adapter_adds_its_term_to_the_sub_layer_output(string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (plain, adapted, adapter, _) = FirstFeedForward(family, new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Pfeiffer, ReductionFactor = 4 });
        // The FFN of block 0 alone: base output h, adapted h + up(relu(down(h))).
        Assert.True(torch.allclose(plain + adapter.call(plain), adapted, rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void A_parallel_adapter_reads_the_sub_layer_input(string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (plain, adapted, adapter, x) = FirstFeedForward(family, new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Parallel, ReductionFactor = 4, Scaling = 2 });
        Assert.True(torch.allclose(plain + adapter.call(x), adapted, rtol: 1e-5, atol: 1e-6));
    }

    /// <summary>
    /// Block 0's FFN of a perturbed adapted model on a seeded input x: its output with adapters disabled (plain) and
    /// enabled (adapted), and its adapter.
    /// </summary>
    static (Tensor Plain, Tensor Adapted, BottleneckAdapter Adapter, Tensor X) FirstFeedForward(string family, BottleneckAdapterOptions options)
    {
        var module = DecoderCases.Model(family);
        var peft = BottleneckAdapterModel.Create(module, options);
        DecoderCases.Perturb(peft);
        var mlp = (nn.Module<Tensor, Tensor>)module.named_modules().First(m => m.name.EndsWith("0.mlp", StringComparison.Ordinal)).module;
        var adapter = (BottleneckAdapter)module.named_modules().First(m => m.name.EndsWith("0.mlp.adapter", StringComparison.Ordinal)).module;
        torch.manual_seed(2);
        var x = torch.randn(2, 5, family == "gpt2" ? 16 : 32);
        Tensor plain;
        using (peft.DisableAdapters()) plain = mlp.call(x);
        return (plain, mlp.call(x), adapter, x);
    }
}
