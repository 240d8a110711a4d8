using System.Text.Json;

namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>
/// Parses and validates a safetensors JSON header against the size of the file's data section. Every
/// check is done up front, so that a bad file fails when it is opened, not halfway through a load.
/// </summary>
internal static class SafeTensorsHeader
{
    /// <summary>The reference implementation refuses headers above 100 MB; a larger value means a corrupt file.</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    internal const string MetadataKey = "__metadata__";

    /// <summary>Parses <paramref name="json"/>; <paramref name="dataStart"/> is 8 + header length, <paramref name="dataLength"/> the bytes after it.</summary>
    internal static (List<SafeTensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(
        string path, ReadOnlySpan<byte> json, long dataStart, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw CheckpointException.ForFile(path, $"invalid JSON header: {e.Message}", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw CheckpointException.ForFile(path, $"invalid JSON header: expected an object, found {doc.RootElement.ValueKind}");

            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                // JsonDocument keeps duplicate property names; a duplicate tensor name is ambiguous, so refuse it.
                if (!seen.Add(property.Name))
                    throw CheckpointException.ForKey(path, property.Name, "duplicate tensor name in the header");
                if (property.Name == MetadataKey)
                    ReadMetadata(path, property.Value, metadata);
                else
                    entries.Add(ReadEntry(path, property.Name, property.Value, dataStart, dataLength));
            }
            CheckRangesDisjoint(path, entries);
            return (entries, metadata);
        }
    }

    static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw CheckpointException.ForKey(path, MetadataKey, "metadata must be an object of strings");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw CheckpointException.ForKey(path, MetadataKey, $"metadata value '{item.Name}' is {item.Value.ValueKind}, not a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    static SafeTensorsEntry ReadEntry(string path, string name, JsonElement value, long dataStart, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw CheckpointException.ForKey(path, name, "header entry must be an object with dtype, shape and data_offsets");

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw CheckpointException.ForKey(path, name, "header entry has no string 'dtype'");
        string dtypeName = dtypeElement.GetString()!;
        var type = SafeTensorsDType.TryParse(dtypeName)
            ?? throw CheckpointException.ForKey(path, name, $"unknown dtype '{dtypeName}'");

        long[] shape = ReadLongs(path, name, value, "shape", expectedCount: null);
        long[] offsets = ReadLongs(path, name, value, "data_offsets", expectedCount: 2);
        long begin = offsets[0], end = offsets[1];
        if (begin > end)
            throw CheckpointException.ForKey(path, name, $"data_offsets [{begin}, {end}] run backwards");

        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (n, d) => checked(n * d)) * SafeTensorsDType.ElementSize(dtypeName));
        }
        catch (OverflowException)
        {
            throw CheckpointException.ForKey(path, name, $"size mismatch: shape {SafeTensorsEntry.FormatShape(shape)} overflows");
        }
        if (end - begin != expected)
            throw CheckpointException.ForKey(path, name,
                $"size mismatch: shape {SafeTensorsEntry.FormatShape(shape)} of {dtypeName} needs {expected} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        if (end > dataLength)
            throw CheckpointException.ForKey(path, name,
                $"truncated data: data_offsets end at {end} but the file holds only {dataLength} data bytes");

        return new SafeTensorsEntry(name, dtypeName, type, shape, begin, end, dataStart);
    }

    static long[] ReadLongs(string path, string name, JsonElement value, string field, int? expectedCount)
    {
        if (!value.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw CheckpointException.ForKey(path, name, $"header entry has no array '{field}'");
        var result = new long[array.GetArrayLength()];
        if (expectedCount is int count && result.Length != count)
            throw CheckpointException.ForKey(path, name, $"'{field}' must have {count} numbers, found {result.Length}");
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long number) || number < 0)
                throw CheckpointException.ForKey(path, name, $"'{field}' must hold non-negative integers, found {item.GetRawText()}");
            result[i++] = number;
        }
        return result;
    }

    /// <summary>Two tensors sharing bytes would alias each other on load; the format forbids it.</summary>
    static void CheckRangesDisjoint(string path, List<SafeTensorsEntry> entries)
    {
        // Empty tensors occupy no bytes and may sit anywhere, so only non-empty ranges are compared.
        var sorted = entries.Where(e => e.ByteLength > 0).OrderBy(e => e.DataBegin).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            var previous = sorted[i - 1];
            var current = sorted[i];
            if (current.DataBegin < previous.DataEnd)
                throw CheckpointException.ForKey(path, current.Name,
                    $"overlapping data: bytes [{current.DataBegin}, {current.DataEnd}] overlap tensor '{previous.Name}' [{previous.DataBegin}, {previous.DataEnd}]");
        }
    }
}
