using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Methods.Common;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.IA3;

public class IA3Tests
{
    static void RandomizeVectors(IA3Model ia3)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in ia3.Model.named_parameters())
            if (name.Contains(".ia3_l.", StringComparison.Ordinal)) p.uniform_(0.5, 1.5);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void PEFTs_defaults_rescale_key_value_and_both_output_dense_layers(string modelType)
    {
        var ia3 = IA3Model.Create(Classifier(modelType), new IA3Options());
        var expected = new[] { 0, 1 }.SelectMany(i => new[] { "attention.self.key", "attention.self.value", "attention.output.dense", "output.dense" }
            .Select(m => $"{modelType}.encoder.layer.{i}.{m}")).Order();
        Assert.Equal(expected, ia3.TargetedModules.Order());
        // "output.dense" matches attention.output.dense too by PEFT's suffix rule, so both scale their input.
        Assert.Equal(4, ia3.FeedforwardTargets.Count);
        // Per layer: key (32) + value (32) as (out, 1); attention.output.dense (in 32) + output.dense (in 37) as (1, in).
        long head = ia3.Model.named_parameters().Where(p => p.name.StartsWith("classifier.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        Assert.Equal(2 * (32 + 32 + 32 + 37) + head, ia3.TrainableParameters().Trainable);
    }

    [Theory]
    [InlineData("bert", false)]
    [InlineData("roberta", false)]
    [InlineData("bert", true)]
    public void Merged_equals_unmerged_and_unmerge_restores_the_weights(string modelType, bool customTargets)
    {
        using var scope = NewDisposeScope();
        var model = Classifier(modelType);
        string key = $"{modelType}.encoder.layer.0.attention.self.value";
        var baseWeight = model.state_dict()[key + ".weight"].clone();
        var options = customTargets
            ? new IA3Options { TargetModules = TargetModules.Of("query", "value", "intermediate.dense", "output.dense"), FeedforwardModules = new[] { "intermediate.dense" } }
            : new IA3Options();
        var ia3 = IA3Model.Create(model, options);
        RandomizeVectors(ia3);
        var unmerged = Logits(model);
        ia3.Merge();
        Assert.True(ia3.IsMerged);
        Assert.True(RelativeError(unmerged, Logits(model)) < 1e-5);
        ia3.Unmerge();
        Assert.True(RelativeError(unmerged, Logits(model)) < 1e-5);
        Assert.True((model.state_dict()[key + ".weight"] - baseWeight).abs().max().item<float>() < 1e-6);
    }

    [Fact]
    public void Merge_and_unload_leaves_no_adapter_modules_and_the_merged_output()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseKeys = model.state_dict().Keys.Order().ToList();
        var ia3 = IA3Model.Create(model, new IA3Options());
        RandomizeVectors(ia3);
        var adapted = Logits(model);
        var plain = ia3.MergeAndUnload();
        Assert.Same(model, plain);
        Assert.Equal(baseKeys, plain.state_dict().Keys.Order().ToList());
        Assert.DoesNotContain(plain.named_modules(), m => m.name.Contains("ia3", StringComparison.Ordinal));
        Assert.True(RelativeError(adapted, Logits(plain)) < 1e-5);
        Assert.All(plain.parameters(), p => Assert.True(p.requires_grad));
        Assert.Throws<InvalidOperationException>(() => ia3.Merge());
    }

    [Fact]
    public void Disable_scope_on_a_merged_model_gives_the_base_and_merges_again_after()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseLogits = Logits(model);
        var ia3 = IA3Model.Create(model, new IA3Options());
        RandomizeVectors(ia3);
        ia3.Merge();
        var merged = Logits(model);
        using (ia3.DisableAdapters()) Assert.True(RelativeError(baseLogits, Logits(model)) < 1e-5);
        Assert.True(ia3.IsMerged);
        Assert.True(RelativeError(merged, Logits(model)) < 1e-5);
    }

    [Fact]
    public void File_keys_and_config_equal_a_hand_written_PEFT_fixture()
    {
        using var folder = new TempFolder();
        IA3Model.Create(Classifier(), new IA3Options { BaseModelNameOrPath = "tiny-bert" }).SaveAdapter(folder.Path);
        var shapes = new Dictionary<string, long[]>
        {
            ["base_model.model.classifier.weight"] = new long[] { 3, 32 },
            ["base_model.model.classifier.bias"] = new long[] { 3 },
        };
        foreach (int i in new[] { 0, 1 })
        {
            string p = $"base_model.model.bert.encoder.layer.{i}.";
            shapes[p + "attention.self.key.ia3_l"] = new long[] { 32, 1 };     // output scaling: (out, 1)
            shapes[p + "attention.self.value.ia3_l"] = new long[] { 32, 1 };
            shapes[p + "attention.output.dense.ia3_l"] = new long[] { 1, 32 }; // input scaling: (1, in)
            shapes[p + "output.dense.ia3_l"] = new long[] { 1, 37 };
        }
        FormatAssert.Weights(folder.Path, shapes);
        FormatAssert.Config(folder.Path, """
        {
          "peft_type": "IA3", "task_type": "SEQ_CLS", "base_model_name_or_path": "tiny-bert", "revision": null,
          "inference_mode": false, "target_modules": ["key", "value", "output.dense"], "exclude_modules": null,
          "feedforward_modules": ["output.dense"], "fan_in_fan_out": false, "modules_to_save": ["classifier"],
          "init_ia3_weights": true
        }
        """);
    }

    [Fact]
    public void A_hand_written_PEFT_IA3_adapter_loads_and_acts()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("adapter_config.json"), """
            {"peft_type": "IA3", "task_type": "SEQ_CLS", "target_modules": ["value"], "feedforward_modules": [],
             "modules_to_save": null, "init_ia3_weights": true, "some_future_field": 1}
            """);
        var tensors = new[] { 0, 1 }.Select(i => KeyValuePair.Create($"base_model.model.bert.encoder.layer.{i}.attention.self.value.ia3_l", full(32, 1, 0.5f))).ToList();
        Microsoft.ML.Peft.Checkpoints.SafeTensorsWriter.Write(folder.File("adapter_model.safetensors"), tensors);
        var model = Classifier();
        var baseLogits = Logits(model);
        var loaded = (IA3Model)PeftMethods.Load(model, folder.Path);
        Assert.Equal(2, loaded.TargetedModules.Count);
        Assert.False(BitEqual(baseLogits, Logits(model)));
    }

    [Fact]
    public void Feedforward_modules_outside_the_targets_and_files_for_another_model_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => IA3Model.Create(Classifier(), new IA3Options { TargetModules = TargetModules.Of("key"), FeedforwardModules = new[] { "output.dense" } }));
        Assert.Contains("output.dense", e.Message);

        using var folder = new TempFolder();
        IA3Model.Create(Classifier(layers: 2), new IA3Options()).SaveAdapter(folder.Path);
        var model = Classifier(layers: 1);
        var error = Assert.Throws<InvalidDataException>(() => PeftMethods.Load(model, folder.Path));
        Assert.Contains("bert.encoder.layer.1.", error.Message);
        Assert.DoesNotContain(model.named_modules(), m => m.name.Contains("ia3", StringComparison.Ordinal));
    }
}
