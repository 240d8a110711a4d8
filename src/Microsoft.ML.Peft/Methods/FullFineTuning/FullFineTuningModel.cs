using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.FullFineTuning;

/// <summary>A model whose every parameter trains (the head included, saved as a module to save).</summary>
public sealed class FullFineTuningModel : ParameterSubsetModel
{
    FullFineTuningModel(nn.Module model, FullFineTuningOptions options)
        : base(model, _ => true, null, options.InferenceMode, options.KeepBaseWeights) { }

    /// <inheritdoc/>
    public override string PeftType => FullFineTuningOptions.PeftTypeName;

    /// <summary>Makes every parameter of <paramref name="model"/> trainable.</summary>
    public static FullFineTuningModel Create(nn.Module model, FullFineTuningOptions options) => new(model, options);

    /// <summary>Loads a fully fine-tuned model's tensors saved by <see cref="ParameterSubsetModel.SaveAdapter"/> into <paramref name="model"/>.</summary>
    /// <exception cref="InvalidDataException">The folder is not FULL, or a key or shape does not fit (named).</exception>
    public static FullFineTuningModel Load(nn.Module model, string folder, bool isTrainable = false)
    {
        AdapterConfigFile.Read(folder, FullFineTuningOptions.PeftTypeName);
        var result = Create(model, new FullFineTuningOptions { InferenceMode = !isTrainable });
        result.LoadWeights(folder);
        return result;
    }
}
