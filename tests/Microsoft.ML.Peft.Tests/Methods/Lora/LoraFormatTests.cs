using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Tests.Checkpoints;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

public class LoraFormatTests
{
    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void Save_then_load_into_a_fresh_base_gives_bit_identical_outputs(string modelType)
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var model = Classifier(modelType);
        var fresh = Twin(model, modelType);  // the same base weights
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 16, TargetModules = TargetModules.Of("query", "value", "dense") });
        RandomizeB(lora);
        using (no_grad()) foreach (var p in lora.TrainableParameterList().Where(p => p.dim() == 2)) p.add_(0.01);  // the head too
        var expected = Logits(model);
        lora.SaveAdapter(folder.Path);

        var loaded = LoraModel.Load(fresh, folder.Path);
        var saved = model.state_dict();
        foreach (var (k, v) in fresh.state_dict()) Assert.True(BitEqual(saved[k], v), k);  // head and factors included
        Assert.True(BitEqual(expected, Logits(fresh)));
        Assert.Equal(0, loaded.TrainableParameters().Trainable);  // PEFT's from_pretrained loads for inference
        Assert.Equal(lora.TrainableParameters().Total, loaded.TrainableParameters().Total);
    }

    [Fact]
    public void File_keys_and_config_equal_a_hand_written_fixture()
    {
        using var folder = new TempFolder();
        var model = Classifier();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 16, Dropout = 0.05, BaseModelNameOrPath = "tiny-bert" });
        lora.SaveAdapter(folder.Path);
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors" }, folder.FileNames());

        // Written from PEFT's format description, not from our code.
        var expectedKeys = new List<string>();
        foreach (int i in new[] { 0, 1 })
            foreach (string m in new[] { "query", "value" })
                foreach (string f in new[] { "lora_A", "lora_B" })
                    expectedKeys.Add($"base_model.model.bert.encoder.layer.{i}.attention.self.{m}.{f}.weight");
        expectedKeys.Add("base_model.model.classifier.weight");
        expectedKeys.Add("base_model.model.classifier.bias");
        using var file = SafeTensorsFile.Open(folder.File("adapter_model.safetensors"));
        Assert.Equal(expectedKeys.Order(), file.Keys.Order());
        Assert.Equal(new long[] { 4, 32 }, file.GetEntry("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight").Shape);
        Assert.Equal(new long[] { 32, 4 }, file.GetEntry("base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight").Shape);

        var expectedConfig = JsonNode.Parse("""
        {
          "peft_type": "LORA", "task_type": "SEQ_CLS", "base_model_name_or_path": "tiny-bert", "revision": null,
          "inference_mode": false, "r": 4, "lora_alpha": 16, "lora_dropout": 0.05,
          "target_modules": ["query", "value"], "exclude_modules": null, "layers_to_transform": null, "layers_pattern": null,
          "bias": "none", "modules_to_save": ["classifier"], "use_rslora": false, "use_dora": false,
          "fan_in_fan_out": false, "init_lora_weights": true, "rank_pattern": {}, "alpha_pattern": {}
        }
        """)!.AsObject();
        var actual = JsonNode.Parse(File.ReadAllText(folder.File("adapter_config.json")))!.AsObject();
        Assert.Equal(expectedConfig.Select(kv => kv.Key).Order(), actual.Select(kv => kv.Key).Order());
        foreach (var (key, value) in expectedConfig)
            Assert.True(JsonNode.DeepEquals(value, actual[key]), $"{key}: {actual[key]?.ToJsonString()} != {value?.ToJsonString()}");
    }

    [Fact]
    public void A_hand_written_PEFT_adapter_loads_and_acts()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("adapter_config.json"), """
            {"peft_type": "LORA", "task_type": "SEQ_CLS", "r": 2, "lora_alpha": 4, "target_modules": ["value"],
             "layers_to_transform": [1], "modules_to_save": null, "bias": "none", "some_future_field": 1}
            """);
        manual_seed(3);
        var a = randn(2, 32);
        var b = randn(32, 2);
        SafeTensorsWriter.Write(folder.File("adapter_model.safetensors"), new Dictionary<string, Tensor>
        {
            ["base_model.model.bert.encoder.layer.1.attention.self.value.lora_A.weight"] = a,
            ["base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight"] = b,
        });
        var model = Classifier();
        var baseLogits = Logits(model);
        var lora = LoraModel.Load(model, folder.Path);
        Assert.Equal(new[] { "bert.encoder.layer.1.attention.self.value" }, lora.TargetedModules);
        Assert.True(BitEqual(a, model.state_dict()["bert.encoder.layer.1.attention.self.value.lora_A.default.weight"]));
        Assert.Equal(2.0, lora.GetOptions().Scaling(2, 4));
        Assert.False(BitEqual(baseLogits, Logits(model)));
    }

    [Fact]
    public void Adapter_files_that_do_not_fit_the_base_model_are_errors_naming_the_key()
    {
        using var folder = new TempFolder();
        var big = Classifier(layers: 3);
        LoraModel.Create(big, new LoraOptions { Rank = 4 }).SaveAdapter(folder.Path);
        var e = Assert.Throws<InvalidDataException>(() => LoraModel.Load(Classifier(layers: 2), folder.Path));
        Assert.Contains("encoder.layer.2.attention.self.query.lora_A.weight", e.Message);

        using var other = new TempFolder();
        var wide = Classifier();
        var lora = LoraModel.Create(wide, new LoraOptions { Rank = 4 });
        lora.SaveAdapter(other.Path);
        var config = JsonNode.Parse(File.ReadAllText(other.File("adapter_config.json")))!;
        config["r"] = 3;  // the file's factors are rank 4
        File.WriteAllText(other.File("adapter_config.json"), config.ToJsonString());
        var fresh = Classifier();
        var keysBefore = fresh.state_dict().Keys.Order().ToList();
        var shape = Assert.Throws<InvalidDataException>(() => LoraModel.Load(fresh, other.Path));
        Assert.Contains("lora_A.weight' has shape [4, 32]; the model needs [3, 32]", shape.Message);
        Assert.Equal(keysBefore, fresh.state_dict().Keys.Order().ToList());  // a failed load leaves the model as it was

        config["r"] = 4;
        config["target_modules"] = new JsonArray("q_proj");
        File.WriteAllText(other.File("adapter_config.json"), config.ToJsonString());
        var none = Assert.Throws<ArgumentException>(() => LoraModel.Load(Classifier(), other.Path));
        Assert.Contains("bert.encoder.layer.0.attention.self.query", none.Message);

        config["peft_type"] = "IA3";
        File.WriteAllText(other.File("adapter_config.json"), config.ToJsonString());
        Assert.Throws<InvalidDataException>(() => LoraModel.Load(Classifier(), other.Path));
    }
}
