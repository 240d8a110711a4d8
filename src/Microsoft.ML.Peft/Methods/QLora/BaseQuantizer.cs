using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.QLora;

/// <summary>
/// Turns the frozen base of a model into 4-bit: every <c>Linear</c> and GPT-2 <see cref="Conv1D"/> except the output
/// head and the modules trained whole (<c>modules_to_save</c>) becomes a <see cref="Linear4bit"/> under the same name,
/// through <see cref="ModuleSurgery"/> (a Conv1D's (in, out) weight is quantized transposed, as bitsandbytes does).
/// Embeddings, LayerNorms and the head stay in full precision, as in QLoRA.
/// </summary>
public static class BaseQuantizer
{
    /// <summary>Names of the <c>Linear</c> and <c>Conv1D</c> modules of <paramref name="model"/> that QLoRA quantizes, in module order.</summary>
    /// <param name="model">The base model.</param>
    /// <param name="modulesToSave">Modules kept in full precision besides the output heads; null for the task's head.</param>
    public static IReadOnlyList<string> LayersToQuantize(nn.Module model, IReadOnlyList<string>? modulesToSave = null)
    {
        var keep = SavedModules.Resolve(model, modulesToSave);
        return model.named_modules().Where(m => m.name.Length > 0 && m.module is Linear or Conv1D)
            .Select(m => m.name)
            .Where(name => !TargetModuleMatcher.IsInOutputHead(name) && !name.Split('.').Any(keep.Contains))
            .Where(name => !name.Contains(".lora_", StringComparison.Ordinal))  // LoRA factors are trained, never quantized
            .ToList();
    }

    /// <summary>
    /// Quantizes the layers of <see cref="LayersToQuantize"/> in place, one at a time (each full-precision weight is
    /// freed as soon as its 4-bit copy exists). Returns the names of the quantized layers.
    /// </summary>
    /// <exception cref="ArgumentException">A weight cannot be quantized (NaN/Inf, block size that does not divide; named).</exception>
    public static IReadOnlyList<string> Quantize(nn.Module model, QuantizationOptions options, IReadOnlyList<string>? modulesToSave = null)
    {
        options.Validate();
        var names = LayersToQuantize(model, modulesToSave);
        foreach (var name in names)
        {
            var layer = ModuleSurgery.Find(model, name);
            Linear4bit quantized;
            try { quantized = layer is Conv1D conv ? Linear4bit.FromConv1D(conv, options) : Linear4bit.FromLinear((Linear)layer, options); }
            catch (ArgumentException e) { throw new ArgumentException($"Cannot quantize layer '{name}': {e.Message}", nameof(model), e); }
            ModuleSurgery.ReplaceAt(model, name, quantized, disposeOld: true);
        }
        return names;
    }

    /// <summary>The 4-bit layers of <paramref name="model"/> by name, in module order.</summary>
    public static IReadOnlyList<(string Name, Linear4bit Layer)> QuantizedLayers(nn.Module model) =>
        model.named_modules().Where(m => m.module is Linear4bit).Select(m => (m.name, (Linear4bit)m.module)).ToList();

    /// <summary>Bytes held by the frozen 4-bit weights (codes and quantization state) of <paramref name="model"/>.</summary>
    public static long FrozenBytes(nn.Module model) => QuantizedLayers(model).Sum(l => l.Layer.FrozenBytes);
}
