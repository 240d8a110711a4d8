using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Quantization;
using Xunit.Abstractions;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static Microsoft.ML.Peft.Tests.QLora.QLoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.QLora;

public class QLoraForwardTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void At_initialisation_the_model_equals_the_dequantized_base(string modelType)
    {
        using var model = Classifier(modelType);
        using var twin = Twin(model, modelType);
        var qlora = QLoraModel.Create(model, Options());
        Dequantize(twin, qlora);

        using var ids = Ids();
        using var expected = Logits(twin, ids);
        using var actual = Logits(model, ids);
        double err = RelativeError(expected, actual);
        output.WriteLine($"{modelType}: relative error vs the dequantized base {err:E2}");
        // fp32 compute: Linear4bit runs the same linear kernel on the same dequantized weight, and B = 0 adds exact zeros.
        Assert.True(err < 1e-6, $"relative error {err}");
    }

    [Fact]
    public void Every_encoder_linear_is_quantized_and_the_head_is_not()
    {
        using var model = Classifier("roberta");
        var qlora = QLoraModel.Create(model, Options());
        // 2 layers x (query, key, value, attention.output.dense, intermediate.dense, output.dense); RoBERTa has no pooler.
        Assert.Equal(12, qlora.QuantizedModules.Count);
        Assert.DoesNotContain(qlora.QuantizedModules, n => n.StartsWith("classifier", StringComparison.Ordinal));
        Assert.All(BaseQuantizer.QuantizedLayers(model), l => Assert.IsType<Linear4bit>(l.Layer));
        Assert.Equal(qlora.QuantizedModules, BaseQuantizer.QuantizedLayers(model).Select(l => l.Name));
        Assert.Equal(new[] { "roberta.encoder.layer.0.attention.self.query", "roberta.encoder.layer.0.attention.self.value" },
                     qlora.Lora.TargetedModules.Take(2));
        Assert.True(qlora.FrozenBytes > 0);
    }

    [Fact]
    public void Disabled_adapters_give_the_quantized_base()
    {
        using var model = Classifier();
        var qlora = QLoraModel.Create(model, Options());
        RandomizeB(qlora.Lora);
        using var ids = Ids();
        using var adapted = Logits(model, ids);
        Tensor disabled;
        using (qlora.DisableAdapters()) disabled = Logits(model, ids);
        using (disabled)
        {
            Assert.False(BitEqual(adapted, disabled));
            qlora.Lora.Unload();  // the 4-bit base alone
            using var baseLogits = Logits(model, ids);
            Assert.True(BitEqual(baseLogits, disabled));
        }
    }
}
