using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.IA3;

/// <summary>
/// A model with (IA)^3 vectors injected (PEFT's <c>IA3Model</c>). Base keys stay; vectors sit under their layer
/// (<c>...key.ia3_l.default</c>); base parameters are frozen, the vectors and the modules to save train. The vectors
/// start at ones, so the model starts equal to the base, and they can be merged into the weights.
/// </summary>
public sealed class IA3Model : IPeftModel
{
    readonly List<IA3Layer> layers = new();
    readonly Dictionary<string, bool> originalRequiresGrad;
    bool unloaded;

    IA3Model(nn.Module model, IA3Options options)
    {
        Model = model;
        Options = options;
        originalRequiresGrad = ParameterFreezing.Snapshot(model);
    }

    /// <inheritdoc/>
    public string PeftType => "IA3";

    /// <inheritdoc/>
    public nn.Module Model { get; }

    /// <summary>The options, with targets, feedforward modules and modules to save resolved against the model.</summary>
    public IA3Options Options { get; }

    /// <summary>Full names of the rescaled layers.</summary>
    public IReadOnlyList<string> TargetedModules => layers.Select(l => l.Name).ToList();

    /// <summary>Full names of the layers whose input (not output) is rescaled.</summary>
    public IReadOnlyList<string> FeedforwardTargets => layers.Where(l => l.IsFeedforward).Select(l => l.Name).ToList();

    /// <summary>Whether the vectors are folded into the weights.</summary>
    public bool IsMerged => layers.Count > 0 && layers[0].IsMerged;

    /// <summary>Injects (IA)^3 into <paramref name="model"/> (in place) and freezes everything else.</summary>
    /// <exception cref="ArgumentException">Nothing matches the targets, or a feedforward module is not a target.</exception>
    public static IA3Model Create(nn.Module model, IA3Options options)
    {
        var resolved = options.Clone();
        string modelType = ModelArchitecture.ModelType(model);
        if (resolved.TargetModules is null) resolved.TargetModules = TargetModules.Of(IA3Options.Defaults(modelType).Targets);
        resolved.FeedforwardModules ??= options.TargetModules is null ? IA3Options.Defaults(modelType).Feedforward : Array.Empty<string>();
        resolved.ModulesToSave = SavedModules.Resolve(model, resolved.ModulesToSave);
        var ia3 = new IA3Model(model, resolved);
        var targets = TargetModuleMatcher.SelectLinearOrConv1D(model, resolved.TargetModules);
        foreach (var entry in resolved.FeedforwardModules)
            if (!targets.Any(t => TargetModuleMatcher.MatchesEntry(t.Name, entry)))
                throw new ArgumentException($"feedforward_modules entry '{entry}' matches none of the target modules; it must be a subset of target_modules.", nameof(options));
        foreach (var (name, layerModule) in targets)
        {
            if (resolved.ModulesToSave.Any(m => name.Split('.').Contains(m))) continue;  // the head trains whole
            bool feedforward = resolved.FeedforwardModules.Any(f => TargetModuleMatcher.MatchesEntry(name, f));
            var layer = new IA3Layer(name, layerModule, feedforward);
            if (!resolved.InitIA3Weights) using (no_grad()) nn.init.normal_(layer.Vector, 1.0, 0.02);
            ia3.layers.Add(layer);
        }
        var trainable = resolved.InferenceMode ? new HashSet<string>() : ia3.OwnParameters().Select(p => p.ModelKey).ToHashSet();
        ParameterFreezing.Apply(model, trainable.Contains);
        return ia3;
    }

    /// <summary>Loads (IA)^3 vectors saved by us or by Python PEFT into <paramref name="model"/>; they train only if <paramref name="isTrainable"/>.</summary>
    /// <exception cref="InvalidDataException">The config is not IA3, or a key or shape does not fit the model (named).</exception>
    public static IA3Model Load(nn.Module model, string folder, bool isTrainable = false)
    {
        var json = AdapterConfigFile.Read(folder, "IA3");
        var targets = json["target_modules"];
        var options = new IA3Options
        {
            TargetModules = targets is null ? null : targets is JsonValue
                ? TargetModules.Regex(targets.GetValue<string>())
                : new TargetModules { Names = AdapterConfigFile.ReadStrings(targets), ExcludeModules = AdapterConfigFile.ReadStrings(json["exclude_modules"]) },
            FeedforwardModules = AdapterConfigFile.ReadStrings(json["feedforward_modules"]) ?? new List<string>(),
            ModulesToSave = AdapterConfigFile.ReadStrings(json["modules_to_save"]) ?? new List<string>(),
            BaseModelNameOrPath = json["base_model_name_or_path"]?.GetValue<string>(),
            InferenceMode = !isTrainable,
        };
        var ia3 = Create(model, options);
        try
        {
            AdapterWeightsFile.ReadInto(folder, ia3.OwnParameters().ToDictionary(p => p.FileKey, p => (Tensor)p.Parameter));
        }
        catch
        {
            ia3.Unload();
            throw;
        }
        return ia3;
    }

    /// <inheritdoc/>
    /// <remarks>Call it after moving the model (<c>model.to(...)</c>): the vectors follow their layer.</remarks>
    public IReadOnlyList<Parameter> TrainableParameterList()
    {
        foreach (var layer in layers) layer.FollowBase();
        return ParameterFreezing.TrainableParameters(Model);
    }

    /// <inheritdoc/>
    public TrainableParameterCount TrainableParameters() => TrainableParameterCount.Of(Model);

    /// <summary>Folds every vector into its layer's weights (rows, or columns for feedforward layers); forward then costs what the base costs.</summary>
    public void Merge()
    {
        ThrowIfUnloaded();
        foreach (var layer in layers) layer.Merge();
    }

    /// <summary>Divides the vectors out of the weights again.</summary>
    public void Unmerge()
    {
        ThrowIfUnloaded();
        foreach (var layer in layers) layer.Unmerge();
    }

    /// <summary>Merges and removes every vector and hook; returns the plain model with its original <c>requires_grad</c> flags.</summary>
    public nn.Module MergeAndUnload()
    {
        Merge();
        return Detach(keepMerged: true);
    }

    /// <summary>Removes every vector and hook without merging (unmerging first); this object is unusable afterwards.</summary>
    public nn.Module Unload() => Detach(keepMerged: false);

    nn.Module Detach(bool keepMerged)
    {
        ThrowIfUnloaded();
        foreach (var layer in layers)
        {
            if (!keepMerged) layer.Unmerge();
            layer.Detach();
        }
        layers.Clear();
        foreach (var (name, p) in Model.named_parameters()) p.requires_grad = originalRequiresGrad.GetValueOrDefault(name, true);
        unloaded = true;
        return Model;
    }

    /// <inheritdoc/>
    public IDisposable DisableAdapters()
    {
        ThrowIfUnloaded();
        bool wasMerged = IsMerged;
        if (wasMerged) Unmerge();
        foreach (var layer in layers) layer.Disabled = true;
        return new ActionScope(() =>
        {
            foreach (var layer in layers) layer.Disabled = false;
            if (wasMerged) Merge();
        });
    }

    /// <summary>
    /// Saves in PEFT's format: keys <c>base_model.model.&lt;layer&gt;.ia3_l</c> ((out, 1), or (1, in) for feedforward
    /// layers), modules to save under <c>base_model.model.&lt;path&gt;</c>, and <c>adapter_config.json</c>.
    /// </summary>
    public void SaveAdapter(string folder)
    {
        ThrowIfUnloaded();
        var targets = Options.TargetModules!;
        AdapterWeightsFile.Write(folder, OwnParameters().Select(p => (p.FileKey, (Tensor)p.Parameter)));
        AdapterConfigFile.Write(folder, new JsonObject
        {
            ["peft_type"] = "IA3",
            ["task_type"] = ModelArchitecture.TaskType(Model),
            ["base_model_name_or_path"] = Options.BaseModelNameOrPath,
            ["revision"] = null,
            ["inference_mode"] = false,
            ["target_modules"] = targets.Pattern is string p ? JsonValue.Create(p) : AdapterConfigFile.Strings(targets.Names),
            ["exclude_modules"] = AdapterConfigFile.Strings(targets.ExcludeModules),
            ["feedforward_modules"] = AdapterConfigFile.Strings(Options.FeedforwardModules),
            ["fan_in_fan_out"] = layers.Any(l => l.IsConv1D),  // PEFT sets it for GPT-2's Conv1D
            ["modules_to_save"] = Options.ModulesToSave is { Count: > 0 } m ? AdapterConfigFile.Strings(m) : null,
            ["init_ia3_weights"] = Options.InitIA3Weights,
        });
    }

    /// <summary>The vectors and the modules to save, with model key and PEFT file key.</summary>
    IEnumerable<(string ModelKey, string FileKey, Parameter Parameter)> OwnParameters()
    {
        foreach (var layer in layers) layer.FollowBase();
        foreach (var layer in layers)
            yield return ($"{layer.Name}.ia3_l.default", $"{AdapterWeightsFile.TunerKeyPrefix}{layer.Name}.ia3_l", layer.Vector);
        foreach (var (key, p) in SavedModules.Parameters(Model, Options.ModulesToSave!))
            yield return (key, AdapterWeightsFile.TunerKeyPrefix + key, p);
    }

    void ThrowIfUnloaded()
    {
        if (unloaded) throw new InvalidOperationException("The IA3 vectors were unloaded from this model; apply the method again.");
    }
}
