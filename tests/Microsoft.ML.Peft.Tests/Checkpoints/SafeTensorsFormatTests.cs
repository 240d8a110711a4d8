using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Checkpoints;

/// <summary>Checks the bytes against the safetensors format itself, not just our own round trip.</summary>
public class SafeTensorsFormatTests
{
    /// <summary>Builds a file by hand: 8-byte little-endian header length, the JSON header, then the data.</summary>
    internal static byte[] BuildFile(string headerJson, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(headerJson);
        var file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        return file;
    }

    [Fact]
    public void ReadsAHandBuiltFile()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        // Unpadded header (length 131, not a multiple of 8) with metadata last: readers must accept both.
        const string header = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I16","shape":[1,1],"data_offsets":[8,10]},"__metadata__":{"k":"v"}}""";
        byte[] data = { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x34, 0x12 }; // 1.0f, -2.0f, (short)0x1234
        string path = folder.File("hand.safetensors");
        File.WriteAllBytes(path, BuildFile(header, data));

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal("v", file.Metadata["k"]);
        var a = file.GetEntry("a");
        Assert.Equal(("F32", 0L, 8L, 8L + Encoding.UTF8.GetByteCount(header)), (a.DTypeName, a.DataBegin, a.DataEnd, a.FileOffset));
        Assert.Equal(new[] { 1.0f, -2.0f }, file.ReadTensor("a").data<float>().ToArray());
        var b = file.ReadTensor("b");
        Assert.Equal(new long[] { 1, 1 }, b.shape);
        Assert.Equal((short)0x1234, b.data<short>()[0]);
    }

    [Fact]
    public void WriterProducesTheSpecifiedLayout()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = folder.File("written.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor>
        {
            ["x"] = tensor(new[] { 1.0f, -2.0f }),
            ["y"] = tensor(new long[] { 0x0102030405060708 }).reshape(1, 1),
        });

        byte[] bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8); // padded so the data starts aligned
        Assert.Equal(8 + (long)n + 8 + 8, bytes.LongLength);

        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var x = header.RootElement.GetProperty("x");
        Assert.Equal("F32", x.GetProperty("dtype").GetString());
        Assert.Equal(new long[] { 2 }, x.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(new long[] { 0, 8 }, x.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        var y = header.RootElement.GetProperty("y");
        Assert.Equal("I64", y.GetProperty("dtype").GetString());
        Assert.Equal(new long[] { 1, 1 }, y.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(new long[] { 8, 16 }, y.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal("pt", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());

        byte[] data = bytes[(8 + (int)n)..];
        Assert.Equal(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 8, 7, 6, 5, 4, 3, 2, 1 }, data);
    }
}
