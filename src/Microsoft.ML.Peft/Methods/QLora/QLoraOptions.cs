using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Quantization;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.QLora;

/// <summary>
/// QLoRA (Dettmers et al., 2023): LoRA adapters over a frozen base whose linear layers are stored in 4-bit NormalFloat
/// with double-quantized scales. Applying it quantizes every <c>Linear</c> of the encoder/decoder (not the output head,
/// not <see cref="LoraOptions.ModulesToSave"/>) to a <see cref="Linear4bit"/>, then injects LoRA into the targets.
/// As in PEFT, the saved adapter is a plain LoRA adapter (<c>peft_type</c> <c>LORA</c>); the base quantization is
/// recorded beside it in <c>adapter_config.json</c> (<see cref="QuantizationConfigJson"/>).
/// </summary>
/// <example><code>
/// IPeftMethodOptions method = new QLoraOptions { Lora = new LoraOptions { Rank = 8, Alpha = 16 } };
/// IPeftModel peft = method.Apply(classifier);   // classifier now holds Linear4bit layers
/// var optimizer = torch.optim.AdamW(peft.TrainableParameterList(), 2e-4);
/// </code></example>
public sealed class QLoraOptions : IPeftMethodOptions
{
    /// <inheritdoc/>
    public string PeftType => "LORA";

    /// <summary>The adapter: rank, alpha, targets, modules to save... (<c>Bias</c> must stay <c>None</c>: the 4-bit base is frozen whole).</summary>
    public LoraOptions Lora { get; set; } = new();

    /// <summary>How the base is quantized: NF4, block 64, double quantization, bf16 compute by default.</summary>
    public QuantizationOptions Quantization { get; set; } = new();

    /// <inheritdoc/>
    public IPeftModel Apply(nn.Module model) => QLoraModel.Create(model, this);

    /// <summary>Throws for a bad LoRA or quantization option, and for bias training (the quantized base never trains).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A LoRA value is out of range, or a block size is not positive.</exception>
    /// <exception cref="NotSupportedException">An unsupported quantization type or compute dtype, or <c>Bias</c> other than <c>None</c>.</exception>
    public void Validate()
    {
        Lora.Validate();
        Quantization.Validate();
        if (Lora.Bias != LoraBias.None)
            throw new NotSupportedException(
                $"QLoRA trains adapters only: bias '{Lora.Bias}' would train biases of the frozen 4-bit base layers. Use LoraBias.None.");
    }
}
