using TorchSharp;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.Lora;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

public class LoraForwardTests
{
    [Theory]
    [InlineData("bert", false)]
    [InlineData("roberta", false)]
    [InlineData("bert", true)]
    public void Output_at_initialisation_equals_the_base_bit_for_bit(string modelType, bool gaussian)
    {
        using var scope = NewDisposeScope();
        var model = Classifier(modelType);
        var before = Logits(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8, Init = gaussian ? LoraInit.Gaussian : LoraInit.Default });
        Assert.Equal(new[] { "query", "value" }.SelectMany(m => new[] { 0, 1 }.Select(i => $"encoder.layer.{i}.attention.self.{m}")).Order(),
                     lora.TargetedModules.Select(n => n[(n.IndexOf('.') + 1)..]).Order());
        Assert.True(BitEqual(before, Logits(model)));
    }

    [Fact]
    public void Base_state_dict_keys_stay_and_adapter_keys_sit_under_the_adapted_layer()
    {
        var model = Classifier();
        var baseKeys = model.state_dict().Keys.ToHashSet();
        LoraModel.Create(model, new LoraOptions());
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.True(baseKeys.IsSubsetOf(keys));
        Assert.Contains("bert.encoder.layer.0.attention.self.query.weight", keys);
        Assert.Contains("bert.encoder.layer.0.attention.self.query.lora_A.default.weight", keys);
        Assert.Contains("bert.encoder.layer.1.attention.self.value.lora_B.default.weight", keys);
        Assert.Equal(8, keys.Count - baseKeys.Count);  // 2 layers x 2 modules x (A, B)
    }

    [Theory]
    [InlineData("bert", false)]
    [InlineData("roberta", true)]
    public void Merged_output_equals_unmerged_and_unmerge_restores_the_weights(string modelType, bool rsLora)
    {
        using var scope = NewDisposeScope();
        var model = Classifier(modelType);
        var baseWeight = model.state_dict()[$"{modelType}.encoder.layer.0.attention.self.query.weight"].clone();
        var baseLogits = Logits(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 16, UseRsLora = rsLora, TargetModules = TargetModules.Regex(TargetModules.AllLinear) });
        RandomizeB(lora);
        var adapted = Logits(model);
        Assert.False(BitEqual(adapted, baseLogits), "random B must change the output");

        lora.Merge(safeMerge: true);
        Assert.True(lora.IsMerged);
        Assert.True(RelativeError(adapted, Logits(model)) < 1e-5);

        lora.Unmerge();  // W + d - d is W only up to rounding
        Assert.True(RelativeError(adapted, Logits(model)) < 1e-5);
        var restored = model.state_dict()[$"{modelType}.encoder.layer.0.attention.self.query.weight"];
        Assert.True((restored - baseWeight).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Merge_and_unload_leaves_a_plain_model_equal_to_the_merged_one()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseKeys = model.state_dict().Keys.Order().ToList();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8 });
        RandomizeB(lora);
        lora.Merge();
        var merged = Logits(model);

        var plain = lora.MergeAndUnload();
        Assert.Same(model, plain);
        Assert.Equal(baseKeys, plain.state_dict().Keys.Order().ToList());
        Assert.DoesNotContain(plain.named_modules(), m => m.name.Contains("lora", StringComparison.Ordinal));
        Assert.True(BitEqual(merged, Logits(plain)));  // no hook adds anything any more
        Assert.All(plain.parameters(), p => Assert.True(p.requires_grad));
        Assert.Throws<InvalidOperationException>(() => lora.Merge());
    }

    [Fact]
    public void Safe_merge_refuses_non_finite_weights_and_writes_nothing()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 2 });
        var before = Snapshot(model);
        using (no_grad()) lora.Model.named_parameters().Last(p => p.name.Contains("value.lora_B", StringComparison.Ordinal)).parameter.fill_(float.NaN);
        var e = Assert.Throws<InvalidOperationException>(() => lora.Merge(safeMerge: true));
        Assert.Contains("encoder.layer.1.attention.self.value", e.Message);
        Assert.False(lora.IsMerged);
        foreach (var (name, p) in model.named_parameters())
            if (!name.Contains("lora", StringComparison.Ordinal)) Assert.True(BitEqual(before[name], p), name);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Disable_scope_gives_the_base_output_and_the_adapter_returns_after_it(bool merged)
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseLogits = Logits(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4 });
        RandomizeB(lora);
        if (merged) lora.Merge();
        var adapted = Logits(model);
        using (lora.DisableAdapters())
        {
            var disabled = Logits(model);
            Assert.True(merged ? RelativeError(baseLogits, disabled) < 1e-5 : BitEqual(baseLogits, disabled));
        }
        Assert.True(BitEqual(adapted, Logits(model)) || RelativeError(adapted, Logits(model)) < 1e-6);
        Assert.Equal(merged, lora.IsMerged);
    }

    [Fact]
    public void Adapters_follow_the_model_to_another_dtype()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 2 });
        model.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, Logits(model).dtype);  // the factors follow on first use
        Assert.All(model.named_parameters(), p => Assert.Equal(ScalarType.Float64, p.parameter.dtype));
        Assert.Equal(8, lora.TrainableParameterList().Count(p => p.dtype == ScalarType.Float64 && p.numel() == 64));
    }
}
