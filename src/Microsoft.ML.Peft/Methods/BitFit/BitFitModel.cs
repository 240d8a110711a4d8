using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.BitFit;

/// <summary>A model whose biases (every parameter named <c>bias</c>) and head train; everything else is frozen.</summary>
public sealed class BitFitModel : ParameterSubsetModel
{
    BitFitModel(nn.Module model, BitFitOptions options)
        : base(model, IsBias, options.ModulesToSave, options.InferenceMode, keepBaseValues: true) { }

    /// <inheritdoc/>
    public override string PeftType => BitFitOptions.PeftTypeName;

    /// <summary>Whether a parameter's full name is a bias.</summary>
    public static bool IsBias(string name) => name == "bias" || name.EndsWith(".bias", StringComparison.Ordinal);

    /// <summary>Freezes all but the biases and the head of <paramref name="model"/>; keeps a copy of the biases for the disable scope.</summary>
    /// <exception cref="ArgumentException">The model has no bias parameter (e.g. a LLaMA without <c>attention_bias</c>/<c>mlp_bias</c>).</exception>
    public static BitFitModel Create(nn.Module model, BitFitOptions options)
    {
        // Without biases BitFit would train nothing at all (or only the head): say so instead of silently doing nothing.
        if (!model.named_parameters().Any(p => IsBias(p.name)))
            throw new ArgumentException(
                $"BitFit needs bias parameters, and {model.GetType().Name} has none (LLaMA-family models have biases only with " +
                "attention_bias / mlp_bias in config.json, or Qwen2's q/k/v biases); choose another method such as LoRA or IA3.", nameof(model));
        return new(model, options);
    }

    /// <summary>Loads biases and head saved by <see cref="ParameterSubsetModel.SaveAdapter"/> into <paramref name="model"/>.</summary>
    /// <exception cref="InvalidDataException">The folder is not BitFit, or a key or shape does not fit (named).</exception>
    public static BitFitModel Load(nn.Module model, string folder, bool isTrainable = false)
    {
        var json = AdapterConfigFile.Read(folder, BitFitOptions.PeftTypeName);
        var result = Create(model, new BitFitOptions
        {
            ModulesToSave = AdapterConfigFile.ReadStrings(json["modules_to_save"]) ?? new List<string>(),
            InferenceMode = !isTrainable,
        });
        result.LoadWeights(folder);
        return result;
    }
}
