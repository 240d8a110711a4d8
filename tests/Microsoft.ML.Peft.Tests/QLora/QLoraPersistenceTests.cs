using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Tests.Tokenization;
using TorchSharp;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static Microsoft.ML.Peft.Tests.QLora.QLoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.QLora;

public class QLoraPersistenceTests
{
    [Fact]
    public void A_saved_adapter_loaded_into_a_fresh_quantized_base_gives_identical_outputs()
    {
        using var model = Classifier();
        using var fresh = Twin(model);
        var qlora = QLoraModel.Create(model, Options());
        RandomizeB(qlora.Lora);
        using (no_grad()) foreach (var (name, p) in model.named_parameters()) if (name.StartsWith("classifier.", StringComparison.Ordinal)) p.add_(0.25);
        string folder = NuGetPackages.NewTempFolder("qlora-adapter");
        try
        {
            qlora.SaveAdapter(folder);
            var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")))!;
            Assert.Equal("LORA", json["peft_type"]!.GetValue<string>());
            var q = (JsonObject)json["quantization_config"]!;
            Assert.Equal("nf4", q["bnb_4bit_quant_type"]!.GetValue<string>());
            Assert.True(q["bnb_4bit_use_double_quant"]!.GetValue<bool>());
            Assert.Equal("float32", q["bnb_4bit_compute_dtype"]!.GetValue<string>());
            Assert.Equal(32, q["blocksize"]!.GetValue<int>());
            // Only adapter weights and the head are saved, never the 4-bit base.
            using var file = Microsoft.ML.Peft.Checkpoints.SafeTensorsFile.Open(Path.Combine(folder, LoraModel.WeightsFileName));
            Assert.All(file.Keys, k => Assert.True(k.Contains(".lora_", StringComparison.Ordinal) || k.Contains("classifier.", StringComparison.Ordinal), k));

            // The registry sees peft_type LORA with a quantization_config, so it quantizes the fresh base as recorded.
            var loaded = Assert.IsType<QLoraModel>(PeftMethods.Load(fresh, folder));
            Assert.Equal(qlora.QuantizedModules, loaded.QuantizedModules);
            Assert.Equal(qlora.Quantization, loaded.Quantization);
            using var ids = Ids();
            using var expected = Logits(model, ids);
            using var actual = Logits(fresh, ids);
            Assert.True(BitEqual(expected, actual));
            Assert.Empty(loaded.TrainableParameterList());  // not trainable unless asked
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_plain_lora_adapter_still_loads_as_lora()
    {
        using var model = Classifier();
        using var fresh = Twin(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4 });
        string folder = NuGetPackages.NewTempFolder("lora-adapter");
        try
        {
            lora.SaveAdapter(folder);
            Assert.IsType<LoraModel>(PeftMethods.Load(fresh, folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
