using Microsoft.ML.Peft.Methods.Lora;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

public class LoraDoraTests
{
    const string Query = "bert.encoder.layer.0.attention.self.query";

    static void RandomizeMagnitudes(LoraModel lora)
    {
        using var generator = new Generator(11);
        using var noGrad = no_grad();
        foreach (var (name, p) in lora.Model.named_parameters())
            if (name.Contains(".lora_magnitude_vector.", StringComparison.Ordinal)) p.mul_(rand(p.shape, generator: generator).add(0.5));
    }

    [Fact]
    public void Output_at_init_equals_the_base_and_magnitude_is_the_row_norm()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseLogits = Logits(model);
        var weight = model.state_dict()[$"{Query}.weight"].detach().clone();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, UseDora = true });
        Assert.True(RelativeError(baseLogits, Logits(model)) < 1e-5);
        var m = model.state_dict()[$"{Query}.lora_magnitude_vector.default.weight"];
        Assert.True(RelativeError(linalg.vector_norm(weight, dims: new long[] { 1 }), m) < 1e-6);
        Assert.Contains(lora.TrainableParameterList(), p => p.shape.SequenceEqual(m.shape) && ReferenceEquals(p, lora.AdapterParameterNames("default").First(n => n.ModelKey.Contains("magnitude")).Parameter));
    }

    [Fact]
    public void Merged_equals_unmerged_and_unmerge_restores_the_base()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var original = Snapshot(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8, UseDora = true });
        RandomizeB(lora);
        RandomizeMagnitudes(lora);
        var unmerged = Logits(model);

        // DoRA is not LoRA: with B random and m changed the output differs from plain W + s·B A.
        lora.Merge();
        var merged = Logits(model);
        Assert.True(RelativeError(unmerged, merged) < 1e-5, $"rel err {RelativeError(unmerged, merged)}");
        lora.Unmerge();
        Assert.True(RelativeError(original[$"{Query}.weight"], model.state_dict()[$"{Query}.weight"]) < 1e-5);
        Assert.True(RelativeError(unmerged, Logits(model)) < 1e-5);

        var plain = Twin(model);
        var mergedModel = lora.MergeAndUnload();
        Assert.True(RelativeError(unmerged, Logits(mergedModel)) < 1e-5);
        Assert.False(RelativeError(Logits(plain), unmerged) < 1e-5);
    }

    [Fact]
    public void Dora_adapter_saves_and_loads_with_its_magnitude()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var twin = Twin(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, UseDora = true });
        RandomizeB(lora);
        RandomizeMagnitudes(lora);
        var logits = Logits(model);
        var folder = Path.Combine(Path.GetTempPath(), "lora-dora-" + Guid.NewGuid().ToString("N"));
        try
        {
            lora.SaveAdapter(folder);
            var config = File.ReadAllText(Path.Combine(folder, "adapter_config.json"));
            Assert.Contains("\"use_dora\": true", config);
            LoraModel.Load(twin, folder);
        }
        finally { Directory.Delete(folder, recursive: true); }
        Assert.True(RelativeError(logits, Logits(twin)) < 1e-5);
    }

    [Fact]
    public void Weighted_combination_refuses_dora()
    {
        var lora = LoraModel.Create(Classifier(), new LoraOptions { Rank = 4, UseDora = true });
        var e = Assert.Throws<ArgumentException>(() => lora.AddWeightedAdapter(new[] { "default" }, new[] { 1.0 }, "mix", CombinationType.Cat));
        Assert.Contains("DoRA", e.Message);
    }
}
