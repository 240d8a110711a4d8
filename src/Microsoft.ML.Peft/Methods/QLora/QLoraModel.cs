using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.QLora;

/// <summary>
/// A model whose frozen base layers are 4-bit (<see cref="Linear4bit"/>) with LoRA adapters over them. The adapter
/// side is an ordinary <see cref="LoraModel"/> (<see cref="Lora"/>): the same keys, files and adapter management.
/// What QLoRA adds is the quantized base, the <c>quantization_config</c> record in the saved adapter, and merging
/// into a dequantized copy (<see cref="MergeAndUnload"/>).
/// </summary>
/// <example><code>
/// var qlora = QLoraModel.Create(classifier, new QLoraOptions { Lora = new LoraOptions { Rank = 8, Alpha = 16 } });
/// // ... train qlora.TrainableParameterList() ...
/// qlora.SaveAdapter("my-qlora-adapter");
/// var merged = qlora.MergeAndUnload(ScalarType.BFloat16);   // plain Linear layers again
/// </code></example>
public sealed class QLoraModel : IPeftModel
{
    QLoraModel(LoraModel lora, QuantizationOptions quantization, IReadOnlyList<string> quantized)
    {
        Lora = lora;
        Quantization = quantization;
        QuantizedModules = quantized;
    }

    /// <summary>The LoRA adapters (add, switch, delete adapters; options; targeted modules).</summary>
    public LoraModel Lora { get; }

    /// <summary>How the base layers are quantized (read from the layers themselves).</summary>
    public QuantizationOptions Quantization { get; }

    /// <summary>Full names of the 4-bit base layers.</summary>
    public IReadOnlyList<string> QuantizedModules { get; }

    /// <inheritdoc/>
    public string PeftType => "LORA";

    /// <inheritdoc/>
    public nn.Module Model => Lora.Model;

    /// <summary>Bytes held by the frozen 4-bit weights (codes and scales; biases and LoRA factors not counted).</summary>
    public long FrozenBytes => BaseQuantizer.FrozenBytes(Model);

    /// <summary>
    /// Quantizes <paramref name="model"/>'s base layers (in place; skipped when it already holds 4-bit layers, e.g. one
    /// loaded with <c>PretrainedModel.LoadSequenceClassifier(..., quantization)</c>) and injects LoRA into the targets.
    /// </summary>
    /// <exception cref="ArgumentException">Nothing matches the targets, or a weight cannot be quantized (named).</exception>
    /// <exception cref="NotSupportedException">An unsupported option (quantization type, compute dtype, bias training).</exception>
    public static QLoraModel Create(nn.Module model, QLoraOptions options, string adapterName = "default")
    {
        options.Validate();
        var (quantization, quantized) = EnsureQuantized(model, options.Quantization, options.Lora.ModulesToSave);
        return new QLoraModel(LoraModel.Create(model, options.Lora, adapterName), quantization, quantized);
    }

    /// <summary>
    /// Loads a QLoRA adapter saved by <see cref="SaveAdapter"/> (or a plain LoRA adapter, given <paramref name="quantization"/>):
    /// quantizes the base as recorded unless it is already 4-bit, then loads the LoRA weights. Nothing trains unless
    /// <paramref name="isTrainable"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder records no quantization and none is given, or a key does not fit.</exception>
    public static QLoraModel Load(nn.Module model, string folder, bool isTrainable = false, QuantizationOptions? quantization = null)
    {
        quantization ??= QuantizationConfigJson.ReadFrom(folder)
            ?? throw new InvalidDataException($"{AdapterConfigFile.FileName} in '{folder}' has no {QuantizationConfigJson.FieldName}; pass the base quantization explicitly.");
        var modulesToSave = LoraAdapterConfig.Load(folder).ModulesToSave;
        var (actual, quantized) = EnsureQuantized(model, quantization, modulesToSave is { Count: > 0 } ? modulesToSave : null);
        return new QLoraModel(LoraModel.Load(model, folder, isTrainable: isTrainable), actual, quantized);
    }

    /// <summary>Writes the LoRA adapter in PEFT's format plus the <c>quantization_config</c> block.</summary>
    public void SaveAdapter(string folder)
    {
        Lora.SaveAdapter(folder);
        QuantizationConfigJson.AddTo(folder, Quantization);
    }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> TrainableParameterList() => Lora.TrainableParameterList();

    /// <inheritdoc/>
    public TrainableParameterCount TrainableParameters() => Lora.TrainableParameters();

    /// <inheritdoc/>
    public IDisposable DisableAdapters() => Lora.DisableAdapters();

    /// <summary>
    /// Returns a plain model: every 4-bit layer becomes a <c>Linear</c> holding its dequantized weight, plus the active
    /// adapter's <c>scaling * B @ A</c> where the adapter applies; adapters and hooks are removed. The sum is formed in
    /// fp32 and rounded once to <paramref name="dtype"/>; the whole model is then cast to it when given.
    /// This object is unusable afterwards.
    /// </summary>
    /// <remarks>
    /// Rounding caveat: the merged weight is <b>not</b> re-quantized. It equals what the QLoRA model computed (up to
    /// float rounding, and bf16 rounding with <paramref name="dtype"/> bf16), but it takes full-precision memory again;
    /// re-quantizing it to NF4 would add a fresh quantization error on top of the trained update (which is of the
    /// order of that error), so the merged model would no longer match the model that was trained.
    /// </remarks>
    /// <param name="dtype">Float32 or BFloat16 (or Float16) for the merged model; null keeps the model's dtype and makes the merged layers fp32-computed, cast to their bias' dtype.</param>
    /// <exception cref="NotSupportedException"><paramref name="dtype"/> is not a floating type.</exception>
    public nn.Module MergeAndUnload(ScalarType? dtype = null)
    {
        if (dtype is ScalarType d && d is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new NotSupportedException($"Cannot merge into dtype {d}; use Float32, BFloat16 or Float16.");
        var deltas = Lora.ActiveDeltas();
        try
        {
            Lora.Unload();
            foreach (var (name, layer) in BaseQuantizer.QuantizedLayers(Model))
                ModuleSurgery.ReplaceAt(Model, name, Dequantized(layer, deltas.GetValueOrDefault(name)), disposeOld: true);
        }
        finally
        {
            foreach (var delta in deltas.Values) delta.Dispose();
        }
        if (dtype is ScalarType cast) Model.to(cast);
        return Model;
    }

    // A Linear with W = dequantize(codes) (+ delta), (out, in), summed in fp32; the bias keeps its dtype and the weight takes it.
    // A layer quantized from a GPT-2 Conv1D becomes a Conv1D again, its weight stored (in, out) as Hugging Face's.
    // The module is made before the dispose scope opens: its parameters must outlive it.
    static nn.Module Dequantized(Linear4bit layer, Tensor? delta)
    {
        var dtype = layer.Bias?.dtype ?? ScalarType.Float32;
        var device = layer.PackedWeight.device;
        var conv = layer.WasConv1D ? new Models.Conv1D(layer.InFeatures, layer.OutFeatures) : null;
        var linear = conv is null ? nn.Linear(layer.InFeatures, layer.OutFeatures, hasBias: layer.Bias is not null, device: device, dtype: dtype) : null;
        conv?.to(device).to(dtype);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weight = layer.Dequantize(ScalarType.Float32);                       // (out, in)
        if (delta is not null) weight = weight.add(delta.to(device));
        if (conv is not null)
        {
            conv.Weight.copy_(weight.t());                                      // (in, out)
            if (layer.Bias is not null) conv.Bias.copy_(layer.Bias);
            else conv.Bias.zero_();
            return conv;
        }
        linear!.weight!.copy_(weight);
        if (layer.Bias is not null) linear.bias!.copy_(layer.Bias);
        return linear;
    }

    // Quantizes the base unless it already holds 4-bit layers; returns the layers' own options and names.
    static (QuantizationOptions Options, IReadOnlyList<string> Names) EnsureQuantized(nn.Module model, QuantizationOptions options, IReadOnlyList<string>? modulesToSave)
    {
        var existing = BaseQuantizer.QuantizedLayers(model);
        if (existing.Count == 0)
        {
            BaseQuantizer.Quantize(model, options, modulesToSave);
            existing = BaseQuantizer.QuantizedLayers(model);
        }
        if (existing.Count == 0)
            throw new ArgumentException($"{model.GetType().Name} has no linear or Conv1D layer to quantize outside the output head.", nameof(model));
        return (existing[0].Layer.Options, existing.Select(e => e.Name).ToList());
    }
}
