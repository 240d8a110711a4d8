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
    public static void Apply(nn.Module model, Func<string, bool> isTrainable)
    {
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = isTrainable(name);
    }

    /// <summary>The <c>requires_grad</c> flag of every parameter, by full name, to restore later.</summary>
    public static Dictionary<string, bool> Snapshot(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.requires_grad);

    /// <summary>The parameters of <paramref name="model"/> the optimizer should receive (those with <c>requires_grad</c>).</summary>
    public static IReadOnlyList<Parameter> TrainableParameters(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.parameter).ToList();
}
