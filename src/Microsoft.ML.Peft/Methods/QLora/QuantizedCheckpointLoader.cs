using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Quantization;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.QLora;

/// <summary>
/// Loads a safetensors checkpoint straight into a 4-bit base: each linear layer's weight is read from the file,
/// quantized, put in place as a <see cref="Linear4bit"/> and freed before the next is read, so the checkpoint's
/// full-precision linear weights are never all in memory together. Everything else (embeddings, LayerNorms, the head)
/// is then loaded strictly as usual. The result is bit-identical to loading in full precision and quantizing after
/// (<see cref="BaseQuantizer.Quantize"/>), because both quantize the same stored values.
/// </summary>
/// <remarks>
/// Built through <see cref="Construct{T}"/>, the model's encoder <c>Linear</c> layers are created on the meta device
/// (TorchSharp 0.107 has no per-thread default device, so the built-in models read a thread-local construction device
/// for their Linear layers instead of <c>torch.set_default_device</c>, which is process-wide): their full-precision
/// weights are never allocated nor initialised, and each is replaced by a <see cref="Linear4bit"/> built straight from
/// the checkpoint tensor (read, quantize, free). Any Linear still on the meta device afterwards (one not quantized) is
/// replaced by a freshly initialised CPU Linear before the rest is loaded. A model constructed the ordinary way works
/// too; its full-precision Linear layers are then disposed one by one as their 4-bit replacements are put in.
/// </remarks>
public static class QuantizedCheckpointLoader
{
    /// <summary>
    /// Runs <paramref name="create"/> (a built-in model's constructor) with its Linear layers on the meta device, so that
    /// <see cref="Load"/> can fill them straight in 4-bit without a full-precision copy ever existing.
    /// </summary>
    public static T Construct<T>(Func<T> create) where T : nn.Module =>
        Models.Common.ModelConstruction.WithLinearsOn(META, create);

    /// <summary>Quantizes <paramref name="model"/>'s base layers from <paramref name="checkpoint"/>, then loads the rest.</summary>
    /// <param name="model">A freshly constructed model (full precision).</param>
    /// <param name="checkpoint">The pretrained weights.</param>
    /// <param name="quantization">How to quantize.</param>
    /// <param name="loadOptions">Strictness, allowed missing and ignored keys for the rest of the model.</param>
    /// <returns>The names of the quantized layers.</returns>
    /// <exception cref="CheckpointException">A key is missing or does not fit (named).</exception>
    /// <exception cref="ArgumentException">A weight cannot be quantized (NaN/Inf, block size that does not divide; named).</exception>
    public static IReadOnlyList<string> Load(nn.Module model, SafeTensorsCheckpoint checkpoint, QuantizationOptions quantization, StateDictLoadOptions? loadOptions = null)
    {
        quantization.Validate();
        loadOptions ??= new StateDictLoadOptions();
        var names = BaseQuantizer.LayersToQuantize(model);

        // Checkpoint key of each module key, with the same prefix handling (bert. added or removed) as StateDictLoader.
        var moduleKeys = model.state_dict().Keys.ToHashSet(StringComparer.Ordinal);
        var (add, remove) = loadOptions.DetectPrefix ? KeyPrefixDetector.Detect(checkpoint.Keys, moduleKeys) : (null, null);
        var storedKeyOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in checkpoint.Keys) storedKeyOf.TryAdd(KeyPrefixDetector.Apply(key, add, remove), key);

        var consumed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var original = (TorchSharp.Modules.Linear)ModuleSurgery.Find(model, name);
            string weightKey = storedKeyOf.GetValueOrDefault(name + ".weight")
                ?? throw new CheckpointException($"Checkpoint {checkpoint.Location} has no weight for layer '{name}' (key '{name}.weight').", checkpoint.Location, name + ".weight");
            string? biasKey = original.bias is null ? null : storedKeyOf.GetValueOrDefault(name + ".bias")
                ?? throw new CheckpointException($"Checkpoint {checkpoint.Location} has no bias for layer '{name}' (key '{name}.bias').", checkpoint.Location, name + ".bias");
            Linear4bit layer;
            using (var scope = NewDisposeScope())
            {
                var weight = checkpoint.ReadTensor(weightKey);  // (out, in), full precision, freed at the end of this scope
                if (!weight.shape.SequenceEqual(original.weight!.shape))
                    throw new CheckpointException($"Checkpoint {checkpoint.Location}: '{weightKey}' has shape [{string.Join(", ", weight.shape)}]; layer '{name}' needs [{string.Join(", ", original.weight!.shape)}].", checkpoint.Location, weightKey);
                var bias = biasKey is null ? null : checkpoint.ReadTensor(biasKey).to(original.bias!.dtype);
                QuantizedWeight quantized;
                try { quantized = QuantizedWeight.Quantize(weight, quantization); }
                catch (ArgumentException e) { throw new ArgumentException($"Cannot quantize '{weightKey}' of {checkpoint.Location}: {e.Message}", nameof(checkpoint), e); }
                layer = new Linear4bit(quantized, bias, quantization);
            }
            ModuleSurgery.ReplaceAt(model, name, layer, disposeOld: true);
            consumed.Add(weightKey);
            if (biasKey is not null) consumed.Add(biasKey);
        }

        // Linear layers left on the meta device (not quantized): fresh, initialised CPU layers, loaded below if stored.
        foreach (var (name, module) in model.named_modules().ToList())
        {
            if (module is TorchSharp.Modules.Linear linear && linear.weight!.device_type == TorchSharp.DeviceType.META)
            {
                var fresh = nn.Linear(linear.in_features, linear.out_features, hasBias: linear.bias is not null);
                ModuleSurgery.ReplaceAt(model, name, fresh, disposeOld: true);
            }
        }

        // The rest, strictly: the consumed keys are skipped, and the 4-bit buffers are not expected from the file.
        StateDictLoader.Load(model, checkpoint, new StateDictLoadOptions
        {
            Strict = loadOptions.Strict,
            DetectPrefix = loadOptions.DetectPrefix,
            KeyMapper = key => consumed.Contains(key) ? null : loadOptions.KeyMapper is null ? key : loadOptions.KeyMapper(key),
            AllowMissing = loadOptions.AllowMissing.Concat(names.Select(n => n + ".")).ToList(),
            IgnoreUnexpected = loadOptions.IgnoreUnexpected,
        });
        return names;
    }
}
