using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>
/// The index of a sharded Hugging Face checkpoint, <c>model.safetensors.index.json</c>:
/// <c>{"metadata": {"total_size": N}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}}</c>.
/// </summary>
public sealed class SafeTensorsIndex
{
    /// <summary>The index file name Hugging Face uses.</summary>
    public const string FileName = "model.safetensors.index.json";

    /// <summary>Creates an index.</summary>
    /// <param name="weightMap">Tensor name to shard file name (a file in the same folder as the index).</param>
    /// <param name="totalSize">Total bytes of tensor data over all shards, when known.</param>
    public SafeTensorsIndex(IReadOnlyDictionary<string, string> weightMap, long? totalSize)
    {
        WeightMap = weightMap;
        TotalSize = totalSize;
    }

    /// <summary>Tensor name to shard file name.</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>The <c>metadata.total_size</c> field: bytes of tensor data over all shards.</summary>
    public long? TotalSize { get; }

    /// <summary>The distinct shard file names, sorted.</summary>
    public IReadOnlyList<string> ShardFiles => WeightMap.Values.Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>Reads and validates an index file.</summary>
    /// <exception cref="CheckpointException">The file is missing, is not valid JSON, or lacks a proper <c>weight_map</c>.</exception>
    public static SafeTensorsIndex Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw CheckpointException.ForFile(path, "index file not found", e);
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw CheckpointException.ForFile(path, $"invalid JSON in index: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw CheckpointException.ForFile(path, "index has no 'weight_map' object");

            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var item in map.EnumerateObject())
            {
                if (item.Value.ValueKind != JsonValueKind.String)
                    throw CheckpointException.ForKey(path, item.Name, "weight_map value must be a shard file name");
                string shard = item.Value.GetString()!;
                // Shards live next to the index; a path that leaves the folder is a malformed (or hostile) index.
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or "..")
                    throw CheckpointException.ForKey(path, item.Name, $"shard '{shard}' is not a plain file name in the index's folder");
                if (!weightMap.TryAdd(item.Name, shard))
                    throw CheckpointException.ForKey(path, item.Name, "tensor appears twice in weight_map");
            }
            return new SafeTensorsIndex(weightMap, ReadTotalSize(root));
        }
    }

    static long? ReadTotalSize(JsonElement root)
    {
        if (!root.TryGetProperty("metadata", out var metadata) || metadata.ValueKind != JsonValueKind.Object
            || !metadata.TryGetProperty("total_size", out var size) || size.ValueKind != JsonValueKind.Number)
            return null;
        // Some exporters write the size as a float (e.g. 1.5e9); it is informational, so accept both.
        return size.TryGetInt64(out long exact) ? exact : (long)size.GetDouble();
    }

    /// <summary>Writes the index as indented JSON, atomically (temporary file, then move).</summary>
    public void Save(string path)
    {
        var map = new JsonObject();
        foreach (var (name, shard) in WeightMap.OrderBy(p => p.Key, StringComparer.Ordinal)) map[name] = shard;
        var root = new JsonObject
        {
            ["metadata"] = TotalSize is long total ? new JsonObject { ["total_size"] = total } : new JsonObject(),
            ["weight_map"] = map,
        };
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            File.WriteAllText(temp, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", new UTF8Encoding(false));
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
