using Microsoft.ML.Peft.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Core;

/// <summary>
/// Freezes by structure: every parameter stays a parameter (so state-dict keys and checkpoints are unchanged), and
/// <c>requires_grad</c> says whether the optimizer may touch it.
/// </summary>
public static class ParameterFreezing
{
    /// <summary>Sets <c>requires_grad</c> of every parameter of <paramref name="model"/> to <paramref name="isTrainable"/>(its full name).</summary>
    /// <exception cref="InvalidOperationException">
    /// <paramref name="isTrainable"/> selects a parameter of a frozen 4-bit layer (<see cref="Linear4bit"/>): full
    /// fine-tuning, BitFit or LoRA bias training over a quantized base. Nothing is changed then.
    /// </exception>
    public static void Apply(nn.Module model, Func<string, bool> isTrainable)
    {
        ThrowIfQuantizedTrains(model, isTrainable);
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = isTrainable(name);
    }

    /// <summary>
    /// Refuses to train anything of a 4-bit base layer. Its weight is NF4 codes in a uint8 buffer, which has no
    /// gradient; its bias is kept frozen too, so that "train the base" never half-happens silently.
    /// </summary>
    /// <exception cref="InvalidOperationException">A parameter of a <see cref="Linear4bit"/> would train (named).</exception>
    public static void ThrowIfQuantizedTrains(nn.Module model, Func<string, bool> isTrainable)
    {
        foreach (var (moduleName, module) in model.named_modules())
        {
            if (module is not Linear4bit) continue;
            // Own parameters only: LoRA factors registered under the layer (lora_A, lora_B) may train.
            foreach (var (name, _) in module.named_parameters(recurse: false))
            {
                string key = moduleName.Length == 0 ? name : $"{moduleName}.{name}";
                if (isTrainable(key))
                    throw new InvalidOperationException(
                        $"'{key}' belongs to the frozen 4-bit layer '{moduleName}' and cannot be trained: a quantized base stays frozen. " +
                        "Train LoRA adapters over it (QLoRA, with bias 'none'), or load the model in full precision for full fine-tuning or BitFit.");
            }
        }
    }

    /// <summary>The <c>requires_grad</c> flag of every parameter, by full name, to restore later.</summary>
    public static Dictionary<string, bool> Snapshot(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.requires_grad);

    /// <summary>The parameters of <paramref name="model"/> the optimizer should receive (those with <c>requires_grad</c>).</summary>
    public static IReadOnlyList<Parameter> TrainableParameters(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.parameter).ToList();
}
