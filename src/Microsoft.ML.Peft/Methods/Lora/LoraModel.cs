using Microsoft.ML.Peft.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Lora;

/// <summary>
/// A model with LoRA adapters injected (PEFT's <c>LoraModel</c>/<c>PeftModel</c>). The base model keeps its modules
/// and state-dict keys; adapters live as children of the layers they adapt (<c>...query.lora_A.default.weight</c>);
/// base parameters are frozen, the active adapter and <see cref="LoraOptions.ModulesToSave"/> train.
/// </summary>
/// <example><code>
/// var lora = LoraModel.Create(classifier, new LoraOptions { Rank = 8, Alpha = 16 });
/// var optimizer = torch.optim.AdamW(lora.TrainableParameterList(), 1e-3);
/// Console.WriteLine(lora.TrainableParameters());
/// lora.SaveAdapter("my-adapter");
/// </code></example>
public sealed partial class LoraModel : IPeftModel
{
    readonly Dictionary<string, LoraLayer> layers = new();           // by module name, in model order
    readonly Dictionary<string, LoraOptions> adapters = new();
    readonly Dictionary<string, bool> originalRequiresGrad;
    bool unloaded;

    LoraModel(nn.Module model)
    {
        Model = model;
        ModelType = ModelArchitecture.ModelType(model);
        originalRequiresGrad = ParameterFreezing.Snapshot(model);
    }

    /// <summary>The model with adapters injected; call it as before (its forward now includes the active adapter).</summary>
    public nn.Module Model { get; }

    /// <inheritdoc/>
    public string PeftType => "LORA";

    /// <inheritdoc/>
    void IPeftModel.SaveAdapter(string folder) => SaveAdapter(folder);

    /// <summary>Hugging Face <c>model_type</c> of the base (chooses default targets).</summary>
    public string ModelType { get; }

    /// <summary>The adapter forward uses and training updates.</summary>
    public string ActiveAdapter { get; private set; } = "";

    /// <summary>Names of the adapters, in the order they were added.</summary>
    public IReadOnlyList<string> AdapterNames => adapters.Keys.ToList();

    /// <summary>Full names of the linear modules the active adapter adapts.</summary>
    public IReadOnlyList<string> TargetedModules => layers.Values.Where(l => l.Has(ActiveAdapter)).Select(l => l.Name).ToList();

    /// <summary>Injects LoRA into <paramref name="model"/> (in place) and freezes everything else.</summary>
    /// <param name="model">The base model; it is modified and stays owned by the caller.</param>
    /// <param name="options">The adapter's options.</param>
    /// <param name="adapterName">Its name; PEFT's default is <c>default</c>.</param>
    /// <exception cref="ArgumentException">No linear module matches the targets (the message lists those that exist).</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static LoraModel Create(nn.Module model, LoraOptions options, string adapterName = "default")
    {
        var lora = new LoraModel(model);
        lora.AddAdapter(adapterName, options);
        lora.SetAdapter(adapterName);
        return lora;
    }

    /// <summary>The options of an adapter (the active one when null), with defaults resolved (targets, task, modules to save).</summary>
    public LoraOptions GetOptions(string? adapterName = null) => adapters[Check(adapterName ?? ActiveAdapter)];

    /// <summary>Adds another adapter with freshly initialised factors; it becomes active only through <see cref="SetAdapter"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty, contains a dot, or is taken; or nothing matches the targets.</exception>
    public void AddAdapter(string adapterName, LoraOptions options)
    {
        ThrowIfUnloaded();
        if (string.IsNullOrWhiteSpace(adapterName) || adapterName.Contains('.'))
            throw new ArgumentException($"Adapter name '{adapterName}' must be non-empty and contain no dot.", nameof(adapterName));
        if (adapters.ContainsKey(adapterName))
            throw new ArgumentException($"An adapter named '{adapterName}' already exists.", nameof(adapterName));
        var resolved = Resolve(options);
        var targets = LoraTargets.Select(Model, resolved.TargetModules!)
            .Where(t => !IsInModulesToSave(t.Name, resolved)).ToList();
        if (targets.Count == 0)
            throw new ArgumentException($"Target modules {resolved.TargetModules} only matched modules to save.", nameof(options));
        foreach (var (name, linear) in targets)
        {
            if (!layers.TryGetValue(name, out var layer)) layers[name] = layer = new LoraLayer(name, linear);
            int rank = resolved.RankFor(name);
            layer.Add(adapterName, rank, resolved.Scaling(rank, resolved.AlphaFor(name)), resolved.Dropout, resolved.Init, resolved.UseDora);
            layer.Active = ActiveAdapter.Length > 0 ? ActiveAdapter : adapterName;
        }
        adapters[adapterName] = resolved;
        if (ActiveAdapter.Length == 0) SetAdapter(adapterName);
    }

    /// <summary>Makes <paramref name="adapterName"/> the adapter forward uses and the only one that trains.</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public void SetAdapter(string adapterName)
    {
        ThrowIfUnloaded();
        Check(adapterName);
        if (layers.Values.Any(l => l.Has(ActiveAdapter) && l.IsMerged(ActiveAdapter)) && ActiveAdapter != adapterName)
            throw new InvalidOperationException($"Adapter '{ActiveAdapter}' is merged; unmerge it before switching adapters.");
        ActiveAdapter = adapterName;
        foreach (var layer in layers.Values) layer.Active = adapterName;
        ApplyFreezing();
    }

    /// <summary>Deletes an adapter and its modules.</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    /// <exception cref="InvalidOperationException">It is the active adapter.</exception>
    public void DeleteAdapter(string adapterName)
    {
        ThrowIfUnloaded();
        Check(adapterName);
        if (adapterName == ActiveAdapter)
            throw new InvalidOperationException($"Adapter '{adapterName}' is active; set another adapter active before deleting it.");
        foreach (var layer in layers.Values.Where(l => l.Has(adapterName))) layer.Remove(adapterName);
        adapters.Remove(adapterName);
    }

    /// <summary>Trainable and total parameter counts (adapters included), printed like PEFT's <c>print_trainable_parameters</c>.</summary>
    public TrainableParameterCount TrainableParameters()
    {
        foreach (var layer in layers.Values) layer.FollowBase();
        return TrainableParameterCount.Of(Model);
    }

    /// <summary>The parameters to give the optimizer: the active adapter's factors, modules to save, and trained biases.</summary>
    /// <remarks>Call it after moving the model (<c>model.to(...)</c>): the factors follow their layer on first use.</remarks>
    public IReadOnlyList<Parameter> TrainableParameterList()
    {
        foreach (var layer in layers.Values) layer.FollowBase();
        return ParameterFreezing.TrainableParameters(Model);
    }

    /// <summary>Freezes by structure: only the active adapter, its modules to save and its biases keep <c>requires_grad</c>.</summary>
    void ApplyFreezing()
    {
        var options = adapters[ActiveAdapter];
        var trainable = options.InferenceMode ? new HashSet<string>() : AdapterParameterNames(ActiveAdapter).Select(p => p.ModelKey).ToHashSet();
        ParameterFreezing.Apply(Model, trainable.Contains);
    }

    /// <summary>Fills in what the options leave to the model: targets, task type, modules to save.</summary>
    LoraOptions Resolve(LoraOptions options)
    {
        options.Validate();
        var resolved = options.Clone();
        resolved.TargetModules ??= TargetModules.Of(TargetModuleMatcher.DefaultLoraTargets(ModelType).ToArray());
        resolved.TaskType ??= ModelArchitecture.TaskType(Model) ?? (Model is Models.ICausalLM ? "CAUSAL_LM" : null);
        // PEFT sets fan_in_fan_out for GPT-2's Conv1D whatever the user passed; we follow the layers' storage too.
        resolved.FanInFanOut = LoraTargets.Select(Model, resolved.TargetModules).Any(t => LoraTargets.FanInFanOut(t.Module));
        resolved.ModulesToSave ??= ModelArchitecture.DefaultModulesToSave(Model, resolved.TaskType);
        return resolved;
    }

    static bool IsInModulesToSave(string moduleName, LoraOptions options) =>
        (options.ModulesToSave ?? Array.Empty<string>()).Any(m =>
            TargetModuleMatcher.MatchesEntry(moduleName, m) || moduleName.StartsWith(m + ".", StringComparison.Ordinal) || moduleName.Contains("." + m + ".", StringComparison.Ordinal));

    string Check(string adapterName) =>
        adapters.ContainsKey(adapterName) ? adapterName
        : throw new ArgumentException($"No adapter named '{adapterName}'. Adapters: {string.Join(", ", adapters.Keys)}.", nameof(adapterName));

    void ThrowIfUnloaded()
    {
        if (unloaded) throw new InvalidOperationException("The adapters were unloaded from this model; create a new LoraModel.");
    }
}
