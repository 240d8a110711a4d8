using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Models;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// <see cref="LoraModel.AddWeightedAdapter"/> against PEFT's <c>add_weighted_adapter</c> (<c>make_weighted_reference.py</c>):
/// two adapters PEFT saved on the llama fixture (ranks 4, scalings 2 and 4, one adapting a module the other does not),
/// combined with weights 0.7 and -0.4, must give the logits PEFT's combination gives.
/// </summary>
public sealed class WeightedAdapterParityTests(ITestOutputHelper output)
{
    static string Folder => Path.Combine(HfReferenceFixture.Root, "peft", "weighted", "llama");

    [Theory]
    [InlineData("cat", CombinationType.Cat)]
    [InlineData("linear", CombinationType.Linear)]
    public void Combination_gives_peft_logits(string name, CombinationType type)
    {
        string referencePath = Path.Combine(Folder, HfReferenceFixture.TensorsFile);
        Assert.True(File.Exists(referencePath), HfReferenceFixture.Missing(Folder));
        string jsonPath = Path.Combine(Folder, HfReferenceFixture.JsonFile);
        using var json = JsonDocument.Parse(File.ReadAllText(jsonPath));
        var weights = FixtureFiles.Field(json.RootElement, "weights", jsonPath).EnumerateArray().Select(w => w.GetDouble()).ToArray();
        string versions = FixtureFiles.Versions(json.RootElement, jsonPath);

        using var module = (nn.Module)PretrainedDecoder.FromDirectory(Path.Combine(HfReferenceFixture.Root, "llama", HfReferenceFixture.ModelFolderName)).LoadModel();
        var model = (ICausalLM)module;
        string adapters = Path.Combine(Folder, "adapters");
        var lora = (LoraModel)PeftMethods.Load(module, adapters);   // PEFT's "default" adapter at the root
        lora.LoadAdapter(Path.Combine(adapters, "b"), "b");
        lora.AddWeightedAdapter(new[] { "default", "b" }, weights, "combined", type);
        lora.SetAdapter("combined");
        module.eval();

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var reference = SafeTensorsFile.Open(referencePath);
        var mask = reference.ReadTensor("attention_mask");
        var logits = model.forward(reference.ReadTensor("input_ids"), mask, reference.ReadTensor("position_ids"));
        double max = RealTokenDifference.AssertWithin(logits, reference.ReadTensor($"logits_{name}"), mask, 1e-4,
            "ours - PEFT", $"weighted {name} (written by {versions})");
        output.WriteLine($"add_weighted_adapter {name}: max |ours - PEFT| {max:G3} over real tokens");
    }
}
