using System.Text.Json;

namespace Microsoft.ML.Peft.Onnx.MiniLm;

/// <summary>
/// The file written last into a converted cache folder. It records what the folder was built from and the
/// size of every file, so a folder from another package or converter version, or one with a truncated or
/// missing file, is detected and rebuilt.
/// </summary>
internal sealed record CacheMarker(int Format, string Source, Dictionary<string, long> Files)
{
    public const string FileName = ".peft-onnx-import.json";

    /// <summary>Records the sizes of <paramref name="files"/> (paths relative to <paramref name="folder"/>).</summary>
    public static CacheMarker Create(int format, string source, string folder, IEnumerable<string> files) =>
        new(format, source, files.ToDictionary(f => f, f => new FileInfo(Path.Combine(folder, f)).Length));

    public void Write(string folder) =>
        File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>True when <paramref name="folder"/> holds a complete conversion of <paramref name="source"/>.</summary>
    public static bool IsValid(string folder, int format, string source)
    {
        try
        {
            var path = Path.Combine(folder, FileName);
            if (!File.Exists(path)) return false;
            var marker = JsonSerializer.Deserialize<CacheMarker>(File.ReadAllText(path));
            if (marker == null || marker.Format != format || marker.Source != source || marker.Files.Count == 0) return false;
            return marker.Files.All(f => new FileInfo(Path.Combine(folder, f.Key)) is { Exists: true } info && info.Length == f.Value);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false; // an unreadable marker means the folder must be rebuilt
        }
    }
}
