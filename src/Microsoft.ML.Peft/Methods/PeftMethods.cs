using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Methods.PTuning;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods;

/// <summary>
/// The registry of PEFT methods by <c>peft_type</c>: loads any saved adapter folder into a base model.
/// Adding a method is its own folder plus one line here.
/// </summary>
public static class PeftMethods
{
    /// <summary>Loads an adapter folder into a model: (model, folder, isTrainable) to the adapted model.</summary>
    public delegate IPeftModel Loader(nn.Module model, string folder, bool isTrainable);

    static readonly Dictionary<string, Loader> Loaders = new(StringComparer.Ordinal)
    {
        ["LORA"] = (m, f, t) => LoraModel.Load(m, f, isTrainable: t),
        ["PROMPT_TUNING"] = PromptTuningModel.Load,
        ["P_TUNING"] = PTuningModel.Load,
        ["PREFIX_TUNING"] = PrefixTuningModel.Load,
        ["IA3"] = IA3Model.Load,
        [BottleneckAdapterOptions.PeftTypeName] = BottleneckAdapterModel.Load,
        [BitFitOptions.PeftTypeName] = BitFitModel.Load,
        [FullFineTuningOptions.PeftTypeName] = FullFineTuningModel.Load,
    };

    /// <summary>The <c>peft_type</c> values this library can load.</summary>
    public static IReadOnlyCollection<string> PeftTypes => Loaders.Keys;

    /// <summary>
    /// Reads <c>peft_type</c> from <paramref name="folder"/>'s <c>adapter_config.json</c> and loads the adapter with its
    /// method. As PEFT's <c>from_pretrained</c>, nothing trains unless <paramref name="isTrainable"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">The <c>peft_type</c> is not one we implement (the known ones are listed).</exception>
    public static IPeftModel Load(nn.Module model, string folder, bool isTrainable = false)
    {
        var json = AdapterConfigFile.Read(folder);
        string peftType = json["peft_type"]?.GetValue<string>() ?? "";
        if (!Loaders.TryGetValue(peftType, out var load))
            throw new NotSupportedException($"{AdapterConfigFile.FileName}: peft_type '{peftType}' is not supported. Supported: {string.Join(", ", Loaders.Keys)}.");
        return load(model, folder, isTrainable);
    }

    /// <summary>The <c>peft_type</c> of a saved adapter folder.</summary>
    public static string PeftTypeOf(string folder) => AdapterConfigFile.Read(folder)["peft_type"]?.GetValue<string>() ?? "";

}
