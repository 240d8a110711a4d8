using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>Reading a fixture's reference.json and reference.safetensors, with errors that name the file and what is missing.</summary>
internal static class FixtureFiles
{
    /// <summary>A field of <paramref name="root"/>, read from <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The field is missing.</exception>
    public static JsonElement Field(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out var value) ? value : throw new InvalidDataException($"{path} has no '{name}'.");

    /// <summary>The format_version field, which must be 1.</summary>
    public static void CheckFormat(JsonElement root, string path)
    {
        int version = Field(root, "format_version", path).GetInt32();
        if (version != 1) throw new InvalidDataException($"{path}: fixture format {version}; this reader knows format 1.");
    }

    /// <summary>The versions object as "python 3.12.3, torch 2.11.0, ...", for messages.</summary>
    public static string Versions(JsonElement root, string path) =>
        string.Join(", ", Field(root, "versions", path).EnumerateObject().Select(p => $"{p.Name} {p.Value}"));

    /// <summary>A tensor of <paramref name="file"/>, detached from the caller's dispose scope (the fixture owns it).</summary>
    /// <exception cref="InvalidDataException">The tensor is missing.</exception>
    public static Tensor Tensor(SafeTensorsFile file, string name, string path) =>
        file.Contains(name) ? file.ReadTensor(name).DetachFromDisposeScope() : throw new InvalidDataException($"{path} has no tensor '{name}'.");
}
