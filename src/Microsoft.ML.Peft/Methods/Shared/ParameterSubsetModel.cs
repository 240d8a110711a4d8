using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods;

/// <summary>
/// The common part of methods that add no modules and train a subset of the model's own parameters (BitFit: the
/// biases; full fine-tuning: all). Saves the trained tensors under <c>base_model.model.&lt;key&gt;</c>. The disable scope
/// swaps in a copy of the base values taken at creation (the modules to save keep their trained values, as in LoRA).
/// </summary>
public abstract class ParameterSubsetModel : IPeftModel
{
    readonly List<(string Key, Parameter Parameter)> trained;
    readonly Dictionary<string, Tensor>? baseValues;  // method-trained (not head) tensors at creation
    readonly Dictionary<string, bool> originalRequiresGrad;

    /// <summary>Freezes all but the parameters <paramref name="isMethodParameter"/> selects and the modules to save.</summary>
    /// <param name="model">The model, modified in place.</param>
    /// <param name="isMethodParameter">Whether the method trains the parameter of this full name.</param>
    /// <param name="modulesToSave">Modules trained whole besides (null: the task's head).</param>
    /// <param name="inferenceMode">When true nothing trains.</param>
    /// <param name="keepBaseValues">Copy the method's parameters now, so <see cref="DisableAdapters"/> can restore them.</param>
    protected ParameterSubsetModel(nn.Module model, Func<string, bool> isMethodParameter, IReadOnlyList<string>? modulesToSave,
                                   bool inferenceMode, bool keepBaseValues)
    {
        Model = model;
        ModulesToSave = SavedModules.Resolve(model, modulesToSave);
        originalRequiresGrad = ParameterFreezing.Snapshot(model);
        var head = SavedModules.Parameters(model, ModulesToSave).Select(p => p.Key).ToHashSet();
        trained = model.named_parameters().Where(p => isMethodParameter(p.name) || head.Contains(p.name))
                       .Select(p => (p.name, p.parameter)).ToList();
        if (keepBaseValues)
            baseValues = trained.Where(t => !head.Contains(t.Key)).ToDictionary(t => t.Key, t => t.Parameter.detach().clone());
        var trainable = inferenceMode ? new HashSet<string>() : trained.Select(t => t.Key).ToHashSet();
        ParameterFreezing.Apply(model, trainable.Contains);
    }

    /// <inheritdoc/>
    public abstract string PeftType { get; }

    /// <inheritdoc/>
    public nn.Module Model { get; }

    /// <summary>Modules trained whole and saved besides the method's parameters.</summary>
    public IReadOnlyList<string> ModulesToSave { get; }

    /// <summary>Full names of the parameters this method trains and saves, modules to save included.</summary>
    public IReadOnlyList<string> TrainedParameterNames => trained.Select(t => t.Key).ToList();

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> TrainableParameterList() => ParameterFreezing.TrainableParameters(Model);

    /// <inheritdoc/>
    public TrainableParameterCount TrainableParameters() => TrainableParameterCount.Of(Model);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">No copy of the base values was kept.</exception>
    public IDisposable DisableAdapters()
    {
        if (baseValues is null)
            throw new InvalidOperationException($"{PeftType} kept no copy of the base weights, so it cannot be disabled; create it with KeepBaseWeights = true.");
        var current = Model.named_parameters().Where(p => baseValues.ContainsKey(p.name)).ToList();
        var trainedValues = current.ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using (no_grad()) foreach (var (name, p) in current) p.copy_(baseValues[name]);
        return new ActionScope(() =>
        {
            using (no_grad()) foreach (var (name, p) in current) p.copy_(trainedValues[name]);
            foreach (var t in trainedValues.Values) t.Dispose();
        });
    }

    /// <summary>Restores the model's <c>requires_grad</c> flags (the trained values stay) and frees the base copy.</summary>
    public nn.Module Unload()
    {
        foreach (var (name, p) in Model.named_parameters()) p.requires_grad = originalRequiresGrad.GetValueOrDefault(name, true);
        if (baseValues is not null) foreach (var t in baseValues.Values) t.Dispose();
        baseValues?.Clear();
        return Model;
    }

    /// <summary>Saves the trained tensors as <c>base_model.model.&lt;key&gt;</c> and a config with <see cref="PeftType"/> and a note.</summary>
    public void SaveAdapter(string folder)
    {
        AdapterWeightsFile.Write(folder, trained.Select(t => (AdapterWeightsFile.TunerKeyPrefix + t.Key, (Tensor)t.Parameter)));
        var json = new JsonObject
        {
            ["peft_type"] = PeftType,
            ["note"] = "Microsoft.ML.Peft format (the model's own trained tensors by key); not a Python PEFT format.",
            ["task_type"] = ModelArchitecture.TaskType(Model),
            ["modules_to_save"] = ModulesToSave.Count > 0 ? AdapterConfigFile.Strings(ModulesToSave) : null,
        };
        AdapterConfigFile.Write(folder, json);
    }

    /// <summary>Reads the saved tensors into the model; every key must name one of the trained parameters.</summary>
    /// <exception cref="InvalidDataException">A key or shape does not fit (named).</exception>
    protected void LoadWeights(string folder) =>
        AdapterWeightsFile.ReadInto(folder, trained.ToDictionary(t => AdapterWeightsFile.TunerKeyPrefix + t.Key, t => (Tensor)t.Parameter));
}
