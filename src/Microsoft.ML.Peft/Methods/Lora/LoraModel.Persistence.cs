using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Lora;

public sealed partial class LoraModel
{
    /// <summary>The weights file PEFT uses.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>PEFT's prefix of every saved key: the PeftModel's <c>base_model</c> (LoraModel) and its <c>model</c>.</summary>
    public const string KeyPrefix = "base_model.model.";

    /// <summary>
    /// Saves an adapter (the active one when null) in PEFT's format: <c>adapter_config.json</c> and
    /// <c>adapter_model.safetensors</c> with keys <c>base_model.model.&lt;module&gt;.lora_A.weight</c> /
    /// <c>.lora_B.weight</c> (adapter name stripped), modules to save and trained biases under their own paths.
    /// </summary>
    public void SaveAdapter(string folder, string? adapterName = null)
    {
        ThrowIfUnloaded();
        string adapter = Check(adapterName ?? ActiveAdapter);
        Directory.CreateDirectory(folder);
        using var scope = NewDisposeScope();
        // Merged or not, the factors are what is saved; A and B never change by merging.
        var tensors = AdapterParameterNames(adapter)
            .Select(p => KeyValuePair.Create(p.FileKey, (Tensor)p.Parameter.detach()))
            .ToList();
        SafeTensorsWriter.Write(Path.Combine(folder, WeightsFileName), tensors);
        LoraAdapterConfig.Save(folder, adapters[adapter]);
    }

    /// <summary>
    /// Injects the adapter saved in <paramref name="folder"/> (by us or by Python PEFT) into <paramref name="model"/>
    /// and loads its weights. As PEFT's <c>from_pretrained</c>, nothing trains unless <paramref name="isTrainable"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file misses a key the model needs, has one the model lacks, or a shape differs (the key is named).</exception>
    /// <exception cref="ArgumentException">The config's target modules match nothing in the model.</exception>
    public static LoraModel Load(nn.Module model, string folder, string adapterName = "default", bool isTrainable = false)
    {
        var options = LoraAdapterConfig.Load(folder);
        options.InferenceMode = !isTrainable;
        var lora = Create(model, options, adapterName);
        try
        {
            lora.LoadWeights(folder, adapterName);
        }
        catch
        {
            lora.Unload();
            throw;
        }
        return lora;
    }

    /// <summary>Adds the adapter saved in <paramref name="folder"/> under <paramref name="adapterName"/> (not made active).</summary>
    public void LoadAdapter(string folder, string adapterName, bool isTrainable = false)
    {
        var options = LoraAdapterConfig.Load(folder);
        options.InferenceMode = !isTrainable;
        AddAdapter(adapterName, options);
        try
        {
            LoadWeights(folder, adapterName);
        }
        catch
        {
            DeleteAdapter(adapterName);
            throw;
        }
    }

    void LoadWeights(string folder, string adapter)
    {
        string path = Path.Combine(folder, WeightsFileName);
        using var file = SafeTensorsFile.Open(path);
        var expected = AdapterParameterNames(adapter).ToDictionary(p => p.FileKey, p => p.Parameter);
        if (file.Keys.FirstOrDefault(k => !expected.ContainsKey(k)) is string unexpected)
            throw new InvalidDataException($"{path}: key '{unexpected}' has no place in the model (is the adapter for another model or target?). " +
                                           $"Adapter keys the model expects start with: {string.Join(", ", expected.Keys.Take(4))}.");
        if (expected.Keys.FirstOrDefault(k => !file.Contains(k)) is string missing)
            throw new InvalidDataException($"{path}: key '{missing}' is missing from the file.");
        foreach (var (key, parameter) in expected)
        {
            var entry = file.GetEntry(key);
            if (!entry.Shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException($"{path}: key '{key}' has shape {entry.ShapeText}; the model needs {SafeTensorsEntry.FormatShape(parameter.shape)}.");
        }
        foreach (var (key, parameter) in expected) file.ReadInto(key, parameter);
    }

    /// <summary>
    /// The parameters an adapter owns, with their model key (<c>...query.lora_A.default.weight</c>) and PEFT file key
    /// (<c>base_model.model....query.lora_A.weight</c>): its factors, the modules to save, and the biases it trains.
    /// </summary>
    internal IReadOnlyList<(string ModelKey, string FileKey, Parameter Parameter)> AdapterParameterNames(string adapter)
    {
        var options = adapters[adapter];
        foreach (var layer in layers.Values) layer.FollowBase();
        var result = new List<(string, string, Parameter)>();
        foreach (var layer in layers.Values.Where(l => l.Has(adapter)))
        {
            result.Add(($"{layer.Name}.lora_A.{adapter}.weight", $"{KeyPrefix}{layer.Name}.lora_A.weight", layer.A(adapter).weight!));
            result.Add(($"{layer.Name}.lora_B.{adapter}.weight", $"{KeyPrefix}{layer.Name}.lora_B.weight", layer.B(adapter).weight!));
            if (layer.IsDora(adapter))  // PEFT's file key drops ".weight" for the magnitude
                result.Add(($"{layer.Name}.lora_magnitude_vector.{adapter}.weight", $"{KeyPrefix}{layer.Name}.lora_magnitude_vector", layer.Magnitude(adapter)));
        }
        var seen = result.Select(r => r.Item1).ToHashSet();
        void AddBase(string name, Parameter p)
        {
            if (seen.Add(name)) result.Add((name, KeyPrefix + name, p));
        }
        var toSave = options.ModulesToSave ?? Array.Empty<string>();
        foreach (var (name, module) in Model.named_modules())
            if (name.Length > 0 && toSave.Any(m => TargetModuleMatcher.MatchesEntry(name, m)))
                foreach (var (pname, p) in module.named_parameters()) AddBase($"{name}.{pname}", p);
        if (options.Bias == LoraBias.All)
            foreach (var (name, p) in Model.named_parameters())
                if (name == "bias" || name.EndsWith(".bias", StringComparison.Ordinal)) AddBase(name, p);
        if (options.Bias == LoraBias.LoraOnly)
            foreach (var layer in layers.Values.Where(l => l.Has(adapter) && l.Bias is Parameter))
                AddBase(layer.Name + ".bias", (Parameter)layer.Bias!);
        return result;
    }
}
