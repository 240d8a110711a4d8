using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Lora;

/// <summary>
/// The layers LoRA can adapt: <c>Linear</c> (weight (out, in)), GPT-2's <see cref="Conv1D"/> (weight (in, out),
/// PEFT's <c>fan_in_fan_out</c>) and QLoRA's frozen <see cref="Linear4bit"/> (NF4 codes: adaptable, not mergeable),
/// matched by name as <see cref="TargetModuleMatcher"/> matches linear layers.
/// </summary>
internal static class LoraTargets
{
    /// <summary>The adaptable layers <paramref name="targets"/> selects, in module order.</summary>
    /// <exception cref="ArgumentException">Nothing matched; the message lists the adaptable layers that exist.</exception>
    public static IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Module)> Select(nn.Module model, TargetModules targets)
    {
        var candidates = model.named_modules()
            .Where(m => m.Item1.Length > 0 && m.Item2 is Linear or Conv1D or Linear4bit)
            .Select(m => (m.Item1, (nn.Module<Tensor, Tensor>)m.Item2)).ToList();
        var selected = candidates.Where(c => TargetModuleMatcher.IsTarget(c.Item1, targets)).ToList();
        if (selected.Count == 0)
            throw new ArgumentException(
                $"Target modules {targets} matched no linear or Conv1D module of the model. Candidates: " +
                string.Join(", ", candidates.Select(c => c.Item1)) + ".", nameof(targets));
        return selected;
    }

    /// <summary>
    /// The full-precision weight a merge writes into: (out, in) for <c>Linear</c>, (in, out) for <see cref="Conv1D"/>.
    /// A <see cref="Linear4bit"/> has none (its weight is packed NF4 codes).
    /// </summary>
    public static Tensor Weight(nn.Module<Tensor, Tensor> layer, string name) => layer switch
    {
        Linear linear => linear.weight!,
        Conv1D conv => conv.Weight,
        Linear4bit => throw new InvalidOperationException(
            $"Cannot merge a LoRA adapter into the 4-bit layer '{name}': its weight is NF4 codes. Merge a QLoRA model with " +
            "QLoraModel.MergeAndUnload, which dequantizes the base first."),
        _ => throw new NotSupportedException($"LoRA cannot adapt a {layer.GetType().Name}."),
    };

    /// <summary>
    /// (out, in, device, dtype) the factors take: the weight's for <c>Linear</c>/<see cref="Conv1D"/>; for a
    /// <see cref="Linear4bit"/> the shape it records, its device, and its bias dtype (fp32 without bias), i.e. the dtype
    /// the model was cast to.
    /// </summary>
    public static (long Out, long In, Device Device, ScalarType DType) Geometry(nn.Module<Tensor, Tensor> layer) => layer switch
    {
        Linear l => (l.weight!.shape[0], l.weight!.shape[1], l.weight!.device, l.weight!.dtype),
        Conv1D c => (c.Weight.shape[1], c.Weight.shape[0], c.Weight.device, c.Weight.dtype),
        Linear4bit q => (q.OutFeatures, q.InFeatures, q.PackedWeight.device, q.Bias?.dtype ?? ScalarType.Float32),
        _ => throw new NotSupportedException($"LoRA cannot adapt a {layer.GetType().Name}."),
    };

    /// <summary>The bias of an adaptable layer, or null.</summary>
    public static Tensor? Bias(nn.Module<Tensor, Tensor> layer) => layer switch
    {
        Linear linear => linear.bias,
        Conv1D conv => conv.Bias,
        Linear4bit q => q.Bias,
        _ => null,
    };

    /// <summary>Whether the layer stores its weight (in, out) (<c>fan_in_fan_out</c>).</summary>
    public static bool FanInFanOut(nn.Module<Tensor, Tensor> layer) => layer is Conv1D;
}
