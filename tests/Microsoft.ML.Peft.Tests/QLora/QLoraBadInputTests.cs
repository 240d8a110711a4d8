using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Quantization;
using Microsoft.ML.Peft.Tests.Models;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static Microsoft.ML.Peft.Tests.QLora.QLoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.QLora;

public class QLoraBadInputTests
{
    [Fact]
    public void A_block_size_that_does_not_divide_a_layer_names_the_layer()
    {
        using var model = Classifier();
        // Block 64 does not divide the tiny FFN weights (32 x 37 = 1184 elements).
        var e = Assert.Throws<ArgumentException>(() => QLoraModel.Create(model, Options(quantization: new QuantizationOptions { ComputeDType = ScalarType.Float32 })));
        Assert.Contains("intermediate.dense", e.Message);
        Assert.Contains("does not divide", e.Message);
    }

    [Fact]
    public void Unsupported_quantization_type_or_compute_dtype_is_refused()
    {
        using var model = Classifier();
        Assert.Contains("fp4", Assert.Throws<NotSupportedException>(() => QLoraModel.Create(model, Options(quantization: Fp32 with { QuantType = "fp4" }))).Message);
        Assert.Contains("Int32", Assert.Throws<NotSupportedException>(() => QLoraModel.Create(model, Options(quantization: Fp32 with { ComputeDType = ScalarType.Int32 }))).Message);
        Assert.Empty(BaseQuantizer.QuantizedLayers(model));  // refused before anything changed
    }

    [Fact]
    public void A_weight_with_NaN_is_refused_naming_the_layer()
    {
        using var model = Classifier();
        using (no_grad()) ((TorchSharp.Modules.Linear)Microsoft.ML.Peft.Core.ModuleSurgery.Find(model, "bert.encoder.layer.1.attention.self.key")).weight![0, 0] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => QLoraModel.Create(model, Options()));
        Assert.Contains("layer.1.attention.self.key", e.Message);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void Training_the_quantized_base_is_refused()
    {
        using var model = Classifier();
        BaseQuantizer.Quantize(model, Fp32);
        var full = Assert.Throws<InvalidOperationException>(() => new FullFineTuningOptions().Apply(model));
        Assert.Contains("frozen 4-bit layer", full.Message);
        Assert.Throws<InvalidOperationException>(() => new BitFitOptions().Apply(model));
        var bias = Assert.Throws<NotSupportedException>(() => QLoraModel.Create(model, new QLoraOptions { Lora = new LoraOptions { Bias = LoraBias.All }, Quantization = Fp32 }));
        Assert.Contains("bias", bias.Message);

        // Setting requires_grad by hand: the codes cannot take it, the bias is caught at the next forward with autograd on.
        var layer = BaseQuantizer.QuantizedLayers(model)[0].Layer;
        Assert.ThrowsAny<Exception>(() => layer.PackedWeight.requires_grad = true);
        layer.Bias!.requires_grad = true;
        using var ids = Ids();
        var e = Assert.Throws<InvalidOperationException>(() => ((ISequenceClassifier)model).Logits(ids).Dispose());
        Assert.Contains("frozen 4-bit", e.Message);
    }

    [Fact]
    public void An_adapter_without_quantization_record_needs_explicit_options()
    {
        using var model = Classifier();
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4 });
        string folder = Tokenization.NuGetPackages.NewTempFolder("lora-no-q");
        try
        {
            lora.SaveAdapter(folder);
            using var fresh = Twin(model);
            Assert.Throws<InvalidDataException>(() => QLoraModel.Load(fresh, folder));
            var loaded = QLoraModel.Load(fresh, folder, quantization: Fp32);
            Assert.NotEmpty(loaded.QuantizedModules);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
