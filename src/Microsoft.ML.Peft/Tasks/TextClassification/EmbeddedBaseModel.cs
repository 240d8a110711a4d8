using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// Unpacks a base model embedded in a model zip into a cache folder named by its content hashes, so that loading the
/// same model again (or another model on the same base) reuses the files instead of writing them anew.
/// </summary>
internal static class EmbeddedBaseModel
{
    public static string Extract(ModelLoadContext ctx, string prefix, IReadOnlyList<string> files, BaseModelReference reference, string modelName)
    {
        if (files.Count == 0)
            throw new InvalidDataException($"{modelName}: the model file says it embeds its base model but lists no files; the file is corrupt.");
        string root = Path.Combine(Path.GetTempPath(), "microsoft-ml-peft", "embedded-models");
        string folder = Path.Combine(root, $"{reference.ConfigSha256[..Math.Min(16, reference.ConfigSha256.Length)]}-{reference.WeightsSha256[..Math.Min(16, reference.WeightsSha256.Length)]}");
        if (IsIntact(folder, reference)) return folder;

        // Unpack beside the final folder and move it in whole, so a concurrent loader never sees half the files.
        string staging = folder + "." + Guid.NewGuid().ToString("N");
        ModelFileEntries.Restore(ctx, prefix, files, staging, modelName);
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(staging, folder);
        }
        catch (IOException)
        {
            // Another process won the race; its copy is checked below like ours would be.
            try { Directory.Delete(staging, recursive: true); } catch (IOException) { }
        }
        return folder;
    }

    static bool IsIntact(string folder, BaseModelReference reference)
    {
        if (!Directory.Exists(folder)) return false;
        try
        {
            reference.Verify(folder);
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            return false;
        }
    }
}
