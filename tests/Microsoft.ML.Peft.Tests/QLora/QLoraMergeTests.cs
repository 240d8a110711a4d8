using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Quantization;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static Microsoft.ML.Peft.Tests.QLora.QLoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.QLora;

public class QLoraMergeTests(ITestOutputHelper output)
{
    [Fact]
    public void Merging_into_a_dequantized_model_equals_the_unmerged_output()
    {
        using var model = Classifier();
        var keys = model.state_dict().Keys.ToList();
        var qlora = QLoraModel.Create(model, Options());
        RandomizeB(qlora.Lora);
        using var ids = Ids();
        using var unmerged = Logits(model, ids);

        var merged = qlora.MergeAndUnload();

        Assert.Same(model, merged);
        Assert.DoesNotContain(merged.named_modules(), m => m.module is Linear4bit);
        Assert.Equal(keys, merged.state_dict().Keys.ToList());  // a plain model with the original keys
        Assert.All(merged.state_dict().Values, t => Assert.Equal(ScalarType.Float32, t.dtype));
        using var actual = Logits(merged, ids);
        double err = RelativeError(unmerged, actual);
        output.WriteLine($"merged vs unmerged relative error {err:E2}");
        Assert.True(err < 1e-5, $"relative error {err}");
    }

    [Fact]
    public void Merging_into_bf16_casts_the_model_and_stays_close()
    {
        using var model = Classifier();
        var qlora = QLoraModel.Create(model, Options());
        RandomizeB(qlora.Lora);
        using var ids = Ids();
        using var unmerged = Logits(model, ids);
        var merged = qlora.MergeAndUnload(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, ((Linear)Microsoft.ML.Peft.Core.ModuleSurgery.Find(merged, "bert.encoder.layer.0.attention.self.query")).weight!.dtype);
        using var actual = Logits(merged, ids);
        using var asFloat = actual.to(ScalarType.Float32);
        double err = RelativeError(unmerged, asFloat);
        output.WriteLine($"bf16 merged vs unmerged relative error {err:E2}");
        Assert.True(err < 0.05, $"relative error {err}");
    }

    [Fact]
    public void Merging_in_place_into_4bit_weights_is_refused()
    {
        using var model = Classifier();
        var qlora = QLoraModel.Create(model, Options());
        var e = Assert.Throws<InvalidOperationException>(() => qlora.Lora.Merge());
        Assert.Contains("4-bit", e.Message);
        Assert.Contains("MergeAndUnload", e.Message);
        Assert.False(qlora.Lora.IsMerged);
        Assert.Throws<NotSupportedException>(() => qlora.MergeAndUnload(ScalarType.Int32));
    }
}
