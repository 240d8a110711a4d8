using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.QLora;

/// <summary>Options and helpers for the QLoRA tests on the tiny BERT (hidden 32, FFN 37).</summary>
static class QLoraTestModels
{
    /// <summary>
    /// fp32 compute (so comparisons are exact up to fp rounding) and block 32: the tiny FFN weights have 32 * 37 = 1184
    /// elements, which 64 does not divide.
    /// </summary>
    public static QuantizationOptions Fp32 { get; } = new() { BlockSize = 32, ComputeDType = ScalarType.Float32 };

    public static QLoraOptions Options(int rank = 4, QuantizationOptions? quantization = null) => new()
    {
        Lora = new LoraOptions { Rank = rank, Alpha = 8 },
        Quantization = quantization ?? Fp32,
    };

    /// <summary>
    /// The reference for a QLoRA model: <paramref name="twin"/> (the same base weights) with each layer that
    /// <paramref name="qlora"/> quantized replaced by a plain Linear holding that layer's dequantized fp32 weight.
    /// </summary>
    public static void Dequantize(nn.Module twin, QLoraModel qlora)
    {
        using var noGrad = no_grad();
        foreach (var (name, layer) in BaseQuantizer.QuantizedLayers(qlora.Model))
        {
            var linear = (Linear)ModuleSurgery.Find(twin, name);
            using var w = layer.Dequantize(ScalarType.Float32);
            linear.weight!.copy_(w);
        }
    }

    /// <summary>Copies of every buffer (the packed codes and their scales), by name.</summary>
    public static Dictionary<string, Tensor> Buffers(nn.Module model) =>
        model.named_buffers().ToDictionary(b => b.name, b => b.buffer.clone());
}
