using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Models.Bert;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Adapters;

/// <summary>
/// A BERT-family, GPT-2 or LLaMA-family model with bottleneck adapters in every block (see
/// <see cref="BottleneckAdapterKind"/> and <see cref="AdapterPlacement"/>). Placement versus the papers: Houlsby puts the
/// adapter on the sub-layer's projected output before the residual (and BERT's post-LayerNorm), as here; the hook sits on
/// the output projection (BERT <c>dense</c>, GPT-2 <c>c_proj</c>, LLaMA <c>o_proj</c> / <c>down_proj</c>), so the adapter
/// runs before the sub-layer's dropout (Houlsby applies dropout first; identical in eval). In the pre-norm decoders the
/// adapter's sum then joins the residual stream directly. Pfeiffer's adapter reads the FFN output the same way (without
/// AdapterHub's extra residual LayerNorm variants). The parallel adapter reads the FFN input (after the decoders'
/// pre-norm) and adds to the FFN projection. Houlsby's paper also trains the LayerNorms; here only adapters and the
/// head train.
/// </summary>
public sealed class BottleneckAdapterModel : IPeftModel
{
    readonly List<AdapterSite> sites = new();
    readonly Dictionary<string, bool> originalRequiresGrad;
    bool unloaded;

    BottleneckAdapterModel(nn.Module model, BottleneckAdapterOptions options)
    {
        Model = model;
        Options = options;
        originalRequiresGrad = ParameterFreezing.Snapshot(model);
    }

    /// <inheritdoc/>
    public string PeftType => BottleneckAdapterOptions.PeftTypeName;

    /// <inheritdoc/>
    public nn.Module Model { get; }

    /// <summary>The options, with modules to save resolved.</summary>
    public BottleneckAdapterOptions Options { get; }

    /// <summary>Full names of the sub-layer output modules that hold an adapter.</summary>
    public IReadOnlyList<string> AdaptedModules => sites.Select(s => s.Name).ToList();

    /// <summary>Injects adapters into every block of <paramref name="model"/> (in place) and freezes everything else.</summary>
    /// <exception cref="NotSupportedException">The model has no BERT-family, GPT-2 or LLaMA-family blocks.</exception>
    public static BottleneckAdapterModel Create(nn.Module model, BottleneckAdapterOptions options)
    {
        options = options.Clone();
        options.Validate();
        options.ModulesToSave = SavedModules.Resolve(model, options.ModulesToSave);
        var result = new BottleneckAdapterModel(model, options);
        foreach (var place in AdapterPlacement.Find(model))
        {
            if (place.IsAttention && !options.AfterAttention) continue;
            var (hidden, device, dtype) = place.Geometry();
            var source = options.Kind == BottleneckAdapterKind.Parallel ? place.Input : null;
            var adapter = new BottleneckAdapter(hidden, options.BottleneckSize((int)hidden), options.Activation, options.Scaling, device, dtype);
            result.sites.Add(new AdapterSite(place.OwnerName, place.Owner, place.Output, source, adapter));
        }
        if (result.sites.Count == 0)
            throw new NotSupportedException($"Bottleneck adapters need BERT-family, GPT-2 or LLaMA-family blocks; {model.GetType().Name} has none.");
        var trainable = options.InferenceMode ? new HashSet<string>() : result.OwnParameters().Select(p => p.ModelKey).ToHashSet();
        ParameterFreezing.Apply(model, trainable.Contains);
        return result;
    }

    /// <summary>Loads adapters saved by <see cref="SaveAdapter"/> into <paramref name="model"/>; they train only if <paramref name="isTrainable"/>.</summary>
    /// <exception cref="InvalidDataException">The config or a key does not fit the model (named).</exception>
    public static BottleneckAdapterModel Load(nn.Module model, string folder, bool isTrainable = false)
    {
        var json = AdapterConfigFile.Read(folder, BottleneckAdapterOptions.PeftTypeName);
        var options = new BottleneckAdapterOptions
        {
            Kind = Enum.TryParse<BottleneckAdapterKind>(json["adapter_kind"]?.GetValue<string>(), ignoreCase: true, out var kind) ? kind
                : throw new InvalidDataException($"{AdapterConfigFile.FileName}: adapter_kind '{json["adapter_kind"]}' is not pfeiffer, houlsby or parallel."),
            ReductionFactor = AdapterConfigFile.RequiredInt(json, "reduction_factor"),
            Activation = json["non_linearity"]?.GetValue<string>() ?? "relu",
            Scaling = json["scaling"]?.GetValue<double>() ?? 1.0,
            ModulesToSave = AdapterConfigFile.ReadStrings(json["modules_to_save"]) ?? new List<string>(),
            InferenceMode = !isTrainable,
        };
        var result = Create(model, options);
        try
        {
            AdapterConfigFile.CheckMatches(json, "hidden_size", (int)result.sites[0].Adapter.parameters().First().shape[1]);
            AdapterWeightsFile.ReadInto(folder, result.OwnParameters().ToDictionary(p => p.FileKey, p => (Tensor)p.Parameter));
            AdapterConfigFile.CheckMatches(json, "num_adapters", result.sites.Count);
        }
        catch
        {
            result.Unload();
            throw;
        }
        return result;
    }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> TrainableParameterList() => ParameterFreezing.TrainableParameters(Model);

    /// <inheritdoc/>
    public TrainableParameterCount TrainableParameters() => TrainableParameterCount.Of(Model);

    /// <inheritdoc/>
    public IDisposable DisableAdapters()
    {
        ThrowIfUnloaded();
        foreach (var site in sites) site.Disabled = true;
        return new ActionScope(() => { foreach (var site in sites) site.Disabled = false; });
    }

    /// <summary>Removes every adapter and hook; returns the base model with its original <c>requires_grad</c> flags.</summary>
    public nn.Module Unload()
    {
        ThrowIfUnloaded();
        foreach (var site in sites) site.Detach();
        sites.Clear();
        foreach (var (name, p) in Model.named_parameters()) p.requires_grad = originalRequiresGrad.GetValueOrDefault(name, true);
        unloaded = true;
        return Model;
    }

    /// <summary>
    /// Saves in our own format (Python PEFT has no bottleneck adapters): keys
    /// <c>base_model.model.&lt;sub-layer&gt;.adapter.adapter_down.weight</c> etc., the modules to save under
    /// <c>base_model.model.&lt;path&gt;</c>, and <c>adapter_config.json</c> with <c>peft_type</c> BOTTLENECK_ADAPTER.
    /// </summary>
    public void SaveAdapter(string folder)
    {
        ThrowIfUnloaded();
        AdapterWeightsFile.Write(folder, OwnParameters().Select(p => (p.FileKey, (Tensor)p.Parameter)));
        AdapterConfigFile.Write(folder, new JsonObject
        {
            ["peft_type"] = PeftType,
            ["note"] = "Microsoft.ML.Peft bottleneck adapters; not a Python PEFT format.",
            ["task_type"] = ModelArchitecture.TaskType(Model),
            ["adapter_kind"] = Options.Kind.ToString().ToLowerInvariant(),
            ["reduction_factor"] = Options.ReductionFactor,
            ["non_linearity"] = Options.Activation,
            ["scaling"] = Options.Scaling,
            ["hidden_size"] = sites[0].Adapter.parameters().First().shape[1],
            ["num_adapters"] = sites.Count,
            ["modules_to_save"] = Options.ModulesToSave is { Count: > 0 } m ? AdapterConfigFile.Strings(m) : null,
        });
    }

    IEnumerable<(string ModelKey, string FileKey, Parameter Parameter)> OwnParameters()
    {
        foreach (var site in sites)
            foreach (var (name, p) in site.Adapter.named_parameters())
                yield return ($"{site.Name}.adapter.{name}", $"{AdapterWeightsFile.TunerKeyPrefix}{site.Name}.adapter.{name}", p);
        foreach (var (key, p) in SavedModules.Parameters(Model, Options.ModulesToSave!))
            yield return (key, AdapterWeightsFile.TunerKeyPrefix + key, p);
    }

    void ThrowIfUnloaded()
    {
        if (unloaded) throw new InvalidOperationException("The adapters were unloaded from this model; apply the method again.");
    }
}
