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
/// The model object itself is still constructed in full precision first (TorchSharp 0.107 models are built on the CPU
/// with initialised weights); each constructed Linear is disposed as soon as its 4-bit replacement exists, so what
/// is avoided is holding the read checkpoint tensors and the constructed weights at once, and the final model holds
/// only 4-bit linear weights.
/// </remarks>
public static class QuantizedCheckpointLoader
{
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
