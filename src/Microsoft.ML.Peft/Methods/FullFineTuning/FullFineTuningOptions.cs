using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.FullFineTuning;

/// <summary>
/// Full fine-tuning as a method: every parameter trains; saving writes the whole model's tensors. Our own format
/// (<c>peft_type</c> <see cref="PeftTypeName"/>). The baseline the PEFT methods are measured against.
/// </summary>
public sealed class FullFineTuningOptions : IPeftMethodOptions
{
    /// <summary>The <c>peft_type</c> we write.</summary>
    public const string PeftTypeName = "FULL";

    /// <summary>
    /// Keep a copy of the starting weights so <see cref="IPeftModel.DisableAdapters"/> can restore them for its scope.
    /// Doubles the weights' memory. Default false (then the disable scope throws).
    /// </summary>
    public bool KeepBaseWeights { get; set; }

    /// <summary>When true nothing is made trainable.</summary>
    public bool InferenceMode { get; set; }

    /// <inheritdoc/>
    public string PeftType => PeftTypeName;

    /// <inheritdoc/>
    public IPeftModel Apply(nn.Module model) => FullFineTuningModel.Create(model, this);
}
