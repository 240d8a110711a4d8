using System.Security.Cryptography;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// How a saved classifier names the pretrained model under it: the folder's full path and SHA-256 content hashes of
/// its <c>config.json</c> and of its weights (every <c>*.safetensors</c> file and the shard index, by name and
/// content). Loading checks both, so a model never runs silently on a different base.
/// </summary>
/// <param name="Path">The base model folder when the model was fitted.</param>
/// <param name="ConfigSha256">Lower-case hex SHA-256 of <c>config.json</c>.</param>
/// <param name="WeightsSha256">Lower-case hex SHA-256 over the weight files' names and their own hashes, in ordinal name order.</param>
internal sealed record BaseModelReference(string Path, string ConfigSha256, string WeightsSha256)
{
    const string ConfigFile = "config.json";

    /// <summary>Hashes the folder's config and weights.</summary>
    public static BaseModelReference Of(string folder) =>
        new(System.IO.Path.GetFullPath(folder), HashFile(System.IO.Path.Combine(folder, ConfigFile)), HashWeights(folder));

    /// <summary>
    /// Checks that <paramref name="folder"/> (by default the recorded path) still holds the same model.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder is gone (the message says how to fix it).</exception>
    /// <exception cref="InvalidDataException">Its config or weights differ from those the model was trained on (the message says which).</exception>
    public void Verify(string? folder = null)
    {
        folder ??= Path;
        const string fix = "Restore the original base model folder at that path, or re-save the model with TextClassifierOptions.EmbedBaseModel = true to carry the base model inside the zip.";
        if (!Directory.Exists(folder) || !File.Exists(System.IO.Path.Combine(folder, ConfigFile)))
            throw new DirectoryNotFoundException(
                $"The base model of this text classifier is missing: no model folder with config.json at '{folder}'. {fix}");
        string config = HashFile(System.IO.Path.Combine(folder, ConfigFile));
        if (config != ConfigSha256)
            throw new InvalidDataException(
                $"The base model at '{folder}' has changed since the classifier was saved: config.json differs (SHA-256 {Short(config)}, expected {Short(ConfigSha256)}). {fix}");
        string weights = HashWeights(folder);
        if (weights != WeightsSha256)
            throw new InvalidDataException(
                $"The base model at '{folder}' has changed since the classifier was saved: its weights (*.safetensors) differ (SHA-256 {Short(weights)}, expected {Short(WeightsSha256)}). {fix}");
    }

    static string Short(string hash) => hash.Length > 16 ? hash[..16] + "..." : hash;

    /// <summary>The files that make up the weights, in ordinal order of name.</summary>
    public static IEnumerable<string> WeightFiles(string folder) =>
        Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal) || f.EndsWith(".safetensors.index.json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    static string HashWeights(string folder)
    {
        var files = WeightFiles(folder).ToList();
        if (files.Count == 0) return "none";
        // Name and content both count: renaming a shard is a change too.
        using var combined = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string file in files)
            combined.AppendData(System.Text.Encoding.UTF8.GetBytes(System.IO.Path.GetFileName(file) + ":" + HashFile(file) + "\n"));
        return Convert.ToHexStringLower(combined.GetHashAndReset());
    }

    static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
