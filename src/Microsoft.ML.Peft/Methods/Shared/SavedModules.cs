using Microsoft.ML.Peft.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods;

/// <summary>Finds the parameters of the modules a method trains whole and saves with the adapter (PEFT's <c>modules_to_save</c>).</summary>
internal static class SavedModules
{
    /// <summary>The given list, or the task's head (<c>classifier</c> for a sequence classifier) when null.</summary>
    public static IReadOnlyList<string> Resolve(nn.Module model, IReadOnlyList<string>? modulesToSave) =>
        modulesToSave ?? ModelArchitecture.DefaultModulesToSave(model, ModelArchitecture.TaskType(model));

    /// <summary>Parameters, by full model key, of every module whose name equals or ends with an entry.</summary>
    public static List<(string Key, Parameter Parameter)> Parameters(nn.Module model, IReadOnlyList<string> modulesToSave)
    {
        var result = new List<(string, Parameter)>();
        var seen = new HashSet<string>();
        foreach (var (name, module) in model.named_modules())
            if (name.Length > 0 && modulesToSave.Any(m => TargetModuleMatcher.MatchesEntry(name, m)))
                foreach (var (pname, p) in module.named_parameters())
                    if (seen.Add($"{name}.{pname}")) result.Add(($"{name}.{pname}", p));
        return result;
    }
}
