using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.Lora;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

public class LoraWeightedAdapterTests
{
    const string Query = "bert.encoder.layer.0.attention.self.query";

    static Tensor Delta(nn.Module model, string adapter, double scaling = 1.0)
    {
        var sd = model.state_dict();
        using var noGrad = no_grad();
        return sd[$"{Query}.lora_B.{adapter}.weight"].matmul(sd[$"{Query}.lora_A.{adapter}.weight"]).mul(scaling);
    }

    static (nn.Module Model, LoraModel Lora) TwoAdapters(int rank2 = 2)
    {
        var model = Classifier();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8 });
        lora.AddAdapter("other", new LoraOptions { Rank = rank2, Alpha = 3 });
        RandomizeB(lora);
        return (model, lora);
    }

    [Fact]
    public void Cat_delta_is_the_weighted_sum_of_deltas()
    {
        using var scope = NewDisposeScope();
        var (model, lora) = TwoAdapters();
        lora.AddWeightedAdapter(new[] { "default", "other" }, new[] { 0.7, -1.3 }, "mix", CombinationType.Cat);

        var expected = Delta(model, "default", 0.7 * 8.0 / 4) + Delta(model, "other", -1.3 * 3.0 / 2);
        var actual = Delta(model, "mix");
        Assert.True(RelativeError(expected, actual) < 1e-5, $"rel err {RelativeError(expected, actual)}");
        Assert.Equal(6, lora.GetOptions("mix").Rank);
        Assert.Equal("default", lora.ActiveAdapter);

        // The forward with the new adapter uses exactly that delta: merged and unmerged agree.
        lora.SetAdapter("mix");
        var unmerged = Logits(model);
        lora.Merge();
        Assert.True(RelativeError(unmerged, Logits(model)) < 1e-5);
        lora.Unmerge();
        Assert.All(model.named_parameters().Where(p => p.parameter.requires_grad),
                   p => Assert.True(p.name.Contains(".mix.", StringComparison.Ordinal) || p.name.StartsWith("classifier.", StringComparison.Ordinal), p.name));
    }

    [Fact]
    public void Linear_with_one_adapter_and_weight_one_equals_it()
    {
        using var scope = NewDisposeScope();
        var (model, lora) = TwoAdapters();
        var withDefault = Logits(model);
        lora.AddWeightedAdapter(new[] { "default" }, new[] { 1.0 }, "copy", CombinationType.Linear);
        Assert.True(RelativeError(Delta(model, "default", 8.0 / 4), Delta(model, "copy")) < 1e-5);
        lora.SetAdapter("copy");
        Assert.True(RelativeError(withDefault, Logits(model)) < 1e-5);
    }

    [Fact]
    public void Linear_sums_factors_of_equal_rank()
    {
        using var scope = NewDisposeScope();
        var (model, lora) = TwoAdapters(rank2: 4);
        lora.AddWeightedAdapter(new[] { "default", "other" }, new[] { 0.5, 0.25 }, "lin", CombinationType.Linear);
        var sd = model.state_dict();
        using var noGrad = no_grad();
        var expectedA = sd[$"{Query}.lora_A.default.weight"] * Math.Sqrt(0.5 * 2) + sd[$"{Query}.lora_A.other.weight"] * Math.Sqrt(0.25 * 0.75);
        Assert.True(RelativeError(expectedA, sd[$"{Query}.lora_A.lin.weight"]) < 1e-6);
        Assert.Equal(4, lora.GetOptions("lin").Rank);
    }

    [Fact]
    public void Linear_refuses_different_ranks()
    {
        var (_, lora) = TwoAdapters(rank2: 2);
        var e = Assert.Throws<ArgumentException>(() =>
            lora.AddWeightedAdapter(new[] { "default", "other" }, new[] { 1.0, 1.0 }, "mix", CombinationType.Linear));
        Assert.Contains("rank", e.Message);
        Assert.Contains("Cat", e.Message);
        Assert.DoesNotContain("mix", lora.AdapterNames);
    }

    [Fact]
    public void Unknown_adapter_and_bad_arguments_are_refused()
    {
        var (_, lora) = TwoAdapters();
        var e = Assert.Throws<ArgumentException>(() =>
            lora.AddWeightedAdapter(new[] { "default", "missing" }, new[] { 1.0, 1.0 }, "mix", CombinationType.Cat));
        Assert.Contains("'missing'", e.Message);
        Assert.Throws<ArgumentException>(() => lora.AddWeightedAdapter(new[] { "default" }, new[] { 1.0, 2.0 }, "mix", CombinationType.Cat));
        Assert.Throws<ArgumentException>(() => lora.AddWeightedAdapter(new[] { "default" }, new[] { 1.0 }, "other", CombinationType.Cat));
        Assert.Throws<ArgumentException>(() => lora.AddWeightedAdapter(new[] { "default" }, new[] { double.NaN }, "mix", CombinationType.Cat));
        Assert.Equal(new[] { "default", "other" }, lora.AdapterNames);
    }

    [Fact]
    public void Cat_covers_the_union_of_targets_and_saves()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4 });
        lora.AddAdapter("keys", new LoraOptions { Rank = 2, TargetModules = TargetModules.Of("key") });
        RandomizeB(lora);
        lora.AddWeightedAdapter(new[] { "default", "keys" }, new[] { 1.0, 1.0 }, "mix", CombinationType.Cat);
        lora.SetAdapter("mix");
        Assert.Contains(lora.TargetedModules, n => n.EndsWith(".key", StringComparison.Ordinal));
        Assert.Contains(lora.TargetedModules, n => n.EndsWith(".query", StringComparison.Ordinal));
        var options = lora.GetOptions("mix");
        Assert.Equal(4, options.Rank);
        Assert.All(options.RankPattern.Values, r => Assert.Equal(2, r));
        foreach (var name in lora.TargetedModules) Assert.Equal(name.EndsWith(".key", StringComparison.Ordinal) ? 2 : 4, options.RankFor(name));

        var logits = Logits(model);
        var twin = Twin(model);
        var folder = Path.Combine(Path.GetTempPath(), "lora-mix-" + Guid.NewGuid().ToString("N"));
        try
        {
            lora.SaveAdapter(folder);
            LoraModel.Load(twin, folder);
        }
        finally { Directory.Delete(folder, recursive: true); }
        Assert.True(RelativeError(logits, Logits(twin)) < 1e-5);
    }
}
