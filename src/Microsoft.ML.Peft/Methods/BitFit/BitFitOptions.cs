using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.BitFit;

/// <summary>
/// BitFit (Ben Zaken et al., 2022): only the bias terms (and the task head) train. Our own format
/// (<c>peft_type</c> <see cref="PeftTypeName"/>); Python PEFT has no BitFit.
/// </summary>
public sealed class BitFitOptions : IPeftMethodOptions
{
    /// <summary>The <c>peft_type</c> we write.</summary>
    public const string PeftTypeName = "BITFIT";

    /// <summary>Modules trained whole besides the biases; null means the task's head (<c>classifier</c>).</summary>
    public IReadOnlyList<string>? ModulesToSave { get; set; }

    /// <summary>When true nothing is made trainable.</summary>
    public bool InferenceMode { get; set; }

    /// <inheritdoc/>
    public string PeftType => PeftTypeName;

    /// <inheritdoc/>
    public IPeftModel Apply(nn.Module model) => BitFitModel.Create(model, this);
}
