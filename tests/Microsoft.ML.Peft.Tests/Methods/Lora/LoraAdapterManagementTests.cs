using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.Lora;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

public class LoraAdapterManagementTests
{
    [Theory]
    [InlineData(0, 8.0)]
    [InlineData(-1, 8.0)]
    [InlineData(8, 0.0)]
    [InlineData(8, -2.0)]
    [InlineData(8, double.NaN)]
    public void Rank_and_alpha_must_be_positive(int rank, double alpha)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LoraModel.Create(Classifier(), new LoraOptions { Rank = rank, Alpha = alpha }));
        Assert.Contains(rank <= 0 ? "rank" : "lora_alpha", e.Message);
    }

    [Fact]
    public void Several_adapters_by_name()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseLogits = Logits(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4 });
        lora.AddAdapter("other", new LoraOptions { Rank = 2, TargetModules = TargetModules.Of("key") });
        Assert.Equal(new[] { "default", "other" }, lora.AdapterNames);
        Assert.Equal("default", lora.ActiveAdapter);
        Assert.Throws<ArgumentException>(() => lora.AddAdapter("other", new LoraOptions()));

        RandomizeB(lora);
        var withDefault = Logits(model);
        lora.SetAdapter("other");
        var withOther = Logits(model);
        Assert.False(BitEqual(withDefault, withOther));
        Assert.All(model.named_parameters().Where(p => p.parameter.requires_grad),
                   p => Assert.True(p.name.Contains(".other.", StringComparison.Ordinal) || p.name.StartsWith("classifier.", StringComparison.Ordinal), p.name));

        Assert.Throws<InvalidOperationException>(() => lora.DeleteAdapter("other"));
        Assert.Throws<ArgumentException>(() => lora.SetAdapter("missing"));
        lora.SetAdapter("default");
        lora.DeleteAdapter("other");
        Assert.Equal(new[] { "default" }, lora.AdapterNames);
        Assert.DoesNotContain(model.state_dict().Keys, k => k.Contains(".other.", StringComparison.Ordinal));
        Assert.True(BitEqual(withDefault, Logits(model)));
        using (lora.DisableAdapters()) Assert.True(BitEqual(baseLogits, Logits(model)));
    }

    [Fact]
    public void Rank_and_alpha_patterns_apply_per_module()
    {
        var model = Classifier();
        var lora = LoraModel.Create(model, new LoraOptions
        {
            Rank = 4,
            RankPattern = new Dictionary<string, int> { ["layer.1.attention.self.value"] = 2 },
        });
        var keys = model.state_dict();
        Assert.Equal(new long[] { 4, 32 }, keys["bert.encoder.layer.1.attention.self.query.lora_A.default.weight"].shape);
        Assert.Equal(new long[] { 2, 32 }, keys["bert.encoder.layer.1.attention.self.value.lora_A.default.weight"].shape);
        Assert.Equal(new long[] { 4, 32 }, keys["bert.encoder.layer.0.attention.self.value.lora_A.default.weight"].shape);
    }

    [Fact]
    public void Trainable_parameter_report_reads_like_PEFTs()
    {
        var count = new TrainableParameterCount(73_728, 22_786_176);
        Assert.Equal("trainable params: 73,728 || all params: 22,786,176 || trainable%: 0.3236", count.ToString());
    }
}
