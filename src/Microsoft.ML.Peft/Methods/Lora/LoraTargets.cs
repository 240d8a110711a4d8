using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Lora;

/// <summary>
/// The layers LoRA can adapt: <c>Linear</c> (weight (out, in)) and GPT-2's <see cref="Conv1D"/> (weight (in, out),
/// PEFT's <c>fan_in_fan_out</c>), matched by name as <see cref="TargetModuleMatcher"/> matches linear layers.
/// </summary>
internal static class LoraTargets
{
    /// <summary>The adaptable layers <paramref name="targets"/> selects, in module order.</summary>
    /// <exception cref="ArgumentException">Nothing matched; the message lists the adaptable layers that exist.</exception>
    public static IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Module)> Select(nn.Module model, TargetModules targets)
    {
        var candidates = model.named_modules()
            .Where(m => m.Item1.Length > 0 && m.Item2 is Linear or Conv1D)
            .Select(m => (m.Item1, (nn.Module<Tensor, Tensor>)m.Item2)).ToList();
        var selected = candidates.Where(c => TargetModuleMatcher.IsTarget(c.Item1, targets)).ToList();
        if (selected.Count == 0)
            throw new ArgumentException(
                $"Target modules {targets} matched no linear or Conv1D module of the model. Candidates: " +
                string.Join(", ", candidates.Select(c => c.Item1)) + ".", nameof(targets));
        return selected;
    }

    /// <summary>The weight of an adaptable layer: (out, in) for <c>Linear</c>, (in, out) for <see cref="Conv1D"/>.</summary>
    public static Tensor Weight(nn.Module<Tensor, Tensor> layer) => layer switch
    {
        Linear linear => linear.weight!,
        Conv1D conv => conv.Weight,
        _ => throw new NotSupportedException($"LoRA cannot adapt a {layer.GetType().Name}."),
    };

    /// <summary>The bias of an adaptable layer, or null.</summary>
    public static Tensor? Bias(nn.Module<Tensor, Tensor> layer) => layer switch
    {
        Linear linear => linear.bias,
        Conv1D conv => conv.Bias,
        _ => null,
    };

    /// <summary>Whether the layer stores its weight (in, out) (<c>fan_in_fan_out</c>).</summary>
    public static bool FanInFanOut(nn.Module<Tensor, Tensor> layer) => layer is Conv1D;
}
