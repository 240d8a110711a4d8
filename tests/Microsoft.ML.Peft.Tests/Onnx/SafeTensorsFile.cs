using System.Text.Json;

namespace Microsoft.ML.Peft.Tests.Onnx;

/// <summary>Minimal float32 safetensors reader for checking what the importer wrote.</summary>
public sealed class SafeTensorsFile
{
    readonly string _path;
    readonly long _dataStart;
    readonly Dictionary<string, (string DType, long[] Shape, long Begin, long End)> _entries = new();

    public SafeTensorsFile(string path)
    {
        _path = path;
        using var file = File.OpenRead(path);
        var lengthBytes = new byte[8];
        file.ReadExactly(lengthBytes);
        long length = (long)BitConverter.ToUInt64(lengthBytes);
        var json = new byte[length];
        file.ReadExactly(json);
        _dataStart = 8 + length;
        using var doc = JsonDocument.Parse(json);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__") continue;
            var offsets = prop.Value.GetProperty("data_offsets");
            Names.Add(prop.Name);
            _entries[prop.Name] = (prop.Value.GetProperty("dtype").GetString()!,
                prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                offsets[0].GetInt64(), offsets[1].GetInt64());
        }
    }

    /// <summary>Tensor names in header order.</summary>
    public List<string> Names { get; } = new();

    public long[] Shape(string name) => _entries[name].Shape;

    public string DType(string name) => _entries[name].DType;

    public float[] Floats(string name)
    {
        var (dtype, _, begin, end) = _entries[name];
        Assert.Equal("F32", dtype);
        using var file = File.OpenRead(_path);
        file.Position = _dataStart + begin;
        var bytes = new byte[end - begin];
        file.ReadExactly(bytes);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }
}
