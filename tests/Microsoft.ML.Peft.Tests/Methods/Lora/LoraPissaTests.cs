using Microsoft.ML.Peft.Methods.Lora;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

public class LoraPissaTests
{
    const string Query = "bert.encoder.layer.0.attention.self.query";

    [Fact]
    public void Output_at_init_equals_the_base_and_the_weight_holds_the_residual()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseLogits = Logits(model);
        var original = Snapshot(model);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8, Init = LoraInit.Pissa });

        Assert.True(RelativeError(baseLogits, Logits(model)) < 1e-5, $"rel err {RelativeError(baseLogits, Logits(model))}");

        var sd = model.state_dict();
        using var noGrad = no_grad();
        var w = original[$"{Query}.weight"];
        var residual = sd[$"{Query}.weight"];
        Assert.False(BitEqual(w, residual));  // the base weight changes, as in PEFT
        var principal = sd[$"{Query}.lora_B.default.weight"].matmul(sd[$"{Query}.lora_A.default.weight"]).mul(8.0 / 4);
        Assert.True(RelativeError(w, residual + principal) < 1e-5);

        // scaling·B A is the best rank-4 approximation: its singular values are W's top 4.
        var top = linalg.svdvals(w).narrow(0, 0, 4);
        Assert.True(RelativeError(top, linalg.svdvals(principal).narrow(0, 0, 4)) < 1e-4);
        // The residual carries only the remaining spectrum.
        Assert.True(RelativeError(linalg.svdvals(w).narrow(0, 4, 4), linalg.svdvals(residual).narrow(0, 0, 4)) < 1e-4);

        // Merging gives back W.
        lora.Merge();
        Assert.True(RelativeError(w, model.state_dict()[$"{Query}.weight"]) < 1e-5);
    }

    [Fact]
    public void Pissa_rank_above_the_layer_size_is_refused()
    {
        var model = Classifier();
        long size = model.state_dict()[$"{Query}.weight"].shape.Min();
        Assert.Throws<ArgumentOutOfRangeException>(() => LoraModel.Create(model, new LoraOptions { Rank = (int)size + 1, Init = LoraInit.Pissa }));
    }

    [Fact]
    public void Pissa_is_written_to_the_config_and_reloads()
    {
        var json = LoraAdapterConfig.ToJson(new LoraOptions { Init = LoraInit.Pissa, TargetModules = Microsoft.ML.Peft.Core.TargetModules.Of("query") });
        Assert.Equal("pissa", json["init_lora_weights"]!.GetValue<string>());
        var options = LoraAdapterConfig.FromJson(System.Text.Json.Nodes.JsonNode.Parse(json.ToJsonString())!.AsObject());
        Assert.Equal(LoraInit.Pissa, options.Init);
    }
}
