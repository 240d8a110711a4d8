using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Quantization;
using Microsoft.ML.Peft.Tests.Models;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static Microsoft.ML.Peft.Tests.QLora.QLoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.QLora;

public class StraightTo4BitLoadingTests
{
    [Theory]
    [InlineData("bert", true)]
    [InlineData("bert", false)]
    [InlineData("roberta", true)]
    public void Loading_straight_into_4bit_equals_quantizing_after_a_full_precision_load_bit_for_bit(string modelType, bool doubleQuant)
    {
        using var folder = new TinyModelFolder(modelType);
        var pretrained = PretrainedModel.FromDirectory(folder.Folder);
        var options = Fp32 with { DoubleQuant = doubleQuant };
        using var straight = pretrained.LoadSequenceClassifier(3, quantization: options);
        using var after = pretrained.LoadSequenceClassifier(3);
        var names = BaseQuantizer.Quantize(after, options);

        Assert.Equal(names, BaseQuantizer.QuantizedLayers(straight).Select(l => l.Name));
        var expected = after.state_dict();
        var actual = straight.state_dict();
        Assert.Equal(expected.Keys.ToList(), actual.Keys.ToList());
        // The head is freshly initialised in each load (tests share the random generator), so it is left out.
        foreach (var (key, value) in expected.Where(kv => !kv.Key.StartsWith("classifier.", StringComparison.Ordinal)))
        {
            Assert.Equal(value.dtype, actual[key].dtype);
            Assert.True(BitEqual(value, actual[key]), $"{key} differs");
        }
    }

    [Fact]
    public void A_straight_4bit_model_takes_a_qlora_adapter_without_quantizing_again()
    {
        using var folder = new TinyModelFolder("bert");
        using var model = PretrainedModel.FromDirectory(folder.Folder).LoadSequenceClassifier(3, quantization: Fp32);
        var before = Buffers(model);
        var qlora = QLoraModel.Create(model, Options(quantization: new QuantizationOptions { BlockSize = 999 }));  // ignored: already 4-bit
        Assert.Equal(32, qlora.Quantization.BlockSize);
        foreach (var (name, b) in model.named_buffers()) Assert.True(BitEqual(before[name], b), name);
        using var ids = Ids();
        using var logits = Logits(model, ids);
        Assert.Equal(new long[] { 2, 3 }, logits.shape);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void A_model_loaded_straight_into_4bit_computes_what_quantizing_after_loading_computes(string modelType)
    {
        using var folder = new TinyModelFolder(modelType);
        var pretrained = PretrainedModel.FromDirectory(folder.Folder);
        using var straight = pretrained.LoadSequenceClassifier(3, quantization: Fp32);
        using var after = pretrained.LoadSequenceClassifier(3);
        BaseQuantizer.Quantize(after, Fp32);
        // Same head in both, so that the whole forward pass is compared.
        after.load_state_dict(straight.state_dict().Where(kv => kv.Key.StartsWith("classifier.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value), strict: false);

        Assert.DoesNotContain(straight.parameters(), p => p.device_type != TorchSharp.DeviceType.CPU);
        Assert.DoesNotContain(straight.buffers(), b => b.device_type != TorchSharp.DeviceType.CPU);
        using var ids = Ids();
        using var expected = Logits(after, ids);
        using var actual = Logits(straight, ids);
        Assert.True(BitEqual(expected, actual), "logits differ");
    }
}
