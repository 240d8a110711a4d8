using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>
/// Writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// (<c>name -> {dtype, shape, data_offsets}</c> plus optional <c>__metadata__</c>), then the raw
/// little-endian tensor bytes back to back. Tensors are written one at a time, so the file is never
/// assembled in memory.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/>. The file is written to a temporary
    /// name first and moved into place, so a failure never leaves a half-written checkpoint behind.
    /// </summary>
    /// <param name="path">Destination file, usually <c>model.safetensors</c>.</param>
    /// <param name="tensors">Name and tensor pairs, in the order to store them; names must be unique.</param>
    /// <param name="metadata">Optional string metadata; <c>format: pt</c> is added when absent.</param>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
                             IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors.ToList();
        var header = new JsonObject();
        var meta = new JsonObject();
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>()) meta[key] = value;
        meta["format"] ??= "pt";
        header["__metadata__"] = meta;

        long offset = 0;
        foreach (var (name, tensor) in entries)
        {
            if (header.ContainsKey(name))
                throw new ArgumentException($"Tensor name '{name}' appears twice; safetensors names must be unique.", nameof(tensors));
            long bytes = tensor.NumberOfElements * tensor.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = SafeTensorsDType.NameOf(tensor.dtype),
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        // The header is padded with spaces to a multiple of 8 so that the data starts aligned.
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        int padded = (json.Length + 7) / 8 * 8;

        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                file.Write(BitConverter.GetBytes((ulong)padded));
                file.Write(json);
                for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
                foreach (var (_, tensor) in entries) WriteData(file, tensor);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// Copies a tensor's bytes to the stream in chunks of at most 16 MiB of elements, straight from the
    /// tensor's native memory (<c>Tensor.bytes</c> is a span over it), so no managed copy of the whole tensor is made.
    /// </summary>
    static void WriteData(Stream stream, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var flat = tensor.detach().cpu().contiguous().reshape(-1);
        long count = flat.shape[0];
        long chunk = Math.Max(1, (1 << 24) / flat.ElementSize);
        for (long start = 0; start < count; start += chunk)
        {
            using var part = flat.narrow(0, start, Math.Min(chunk, count - start));
            stream.Write(part.bytes);
        }
    }
}
