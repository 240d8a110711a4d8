using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods;

/// <summary>Writes and strictly reads <c>adapter_model.safetensors</c>: every key must fit the model, by name and shape.</summary>
public static class AdapterWeightsFile
{
    /// <summary>The file name PEFT uses.</summary>
    public const string FileName = "adapter_model.safetensors";

    /// <summary>PEFT's key prefix for tuner-based methods (LoRA, IA3): the PeftModel's <c>base_model</c> and its <c>model</c>.</summary>
    public const string TunerKeyPrefix = "base_model.model.";

    /// <summary>Writes the (file key, tensor) pairs, detached, in order.</summary>
    public static void Write(string folder, IEnumerable<(string Key, Tensor Value)> tensors)
    {
        Directory.CreateDirectory(folder);
        using var scope = NewDisposeScope();
        var list = tensors.Select(t => KeyValuePair.Create(t.Key, t.Value.detach().cpu().contiguous())).ToList();
        SafeTensorsWriter.Write(Path.Combine(folder, FileName), list);
    }

    /// <summary>
    /// Copies every tensor of the file into its destination. The file's keys must equal <paramref name="expected"/>'s
    /// and shapes must agree; otherwise nothing is copied and the error names the key.
    /// </summary>
    /// <exception cref="InvalidDataException">An unexpected, missing or mis-shaped key (named).</exception>
    public static void ReadInto(string folder, IReadOnlyDictionary<string, Tensor> expected)
    {
        string path = Path.Combine(folder, FileName);
        using var file = SafeTensorsFile.Open(path);
        if (file.Keys.FirstOrDefault(k => !expected.ContainsKey(k)) is string unexpected)
            throw new InvalidDataException($"{path}: key '{unexpected}' has no place in the model (is the adapter for another model or configuration?). " +
                                           $"Keys the model expects: {string.Join(", ", expected.Keys.Take(4))}{(expected.Count > 4 ? ", ..." : "")}.");
        if (expected.Keys.FirstOrDefault(k => !file.Contains(k)) is string missing)
            throw new InvalidDataException($"{path}: key '{missing}' is missing from the file.");
        foreach (var (key, destination) in expected)
        {
            var entry = file.GetEntry(key);
            if (!entry.Shape.SequenceEqual(destination.shape))
                throw new InvalidDataException($"{path}: key '{key}' has shape {entry.ShapeText}; the model needs {SafeTensorsEntry.FormatShape(destination.shape)}.");
        }
        using var noGrad = no_grad();
        foreach (var (key, destination) in expected) file.ReadInto(key, destination);
    }
}
