using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>
/// An open <c>.safetensors</c> file: its validated header, and tensors read one at a time straight from
/// the file into tensor memory. Only the header is held in memory; tensor bytes are read on request.
/// </summary>
/// <remarks>
/// Reads are positional (no shared file position), so several threads may read different tensors at once.
/// Gaps between tensors and bytes after the last one are tolerated; overlapping tensors are not.
/// </remarks>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Tensors are read in slices of this many bytes, because a <see cref="Span{T}"/> cannot span more than 2 GiB.</summary>
    const long DefaultReadSliceBytes = 1L << 28;

    readonly FileStream _stream;
    readonly Dictionary<string, SafeTensorsEntry> _byName;

    SafeTensorsFile(string path, FileStream stream, List<SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _stream = stream;
        Entries = entries.OrderBy(e => e.DataBegin).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Metadata = metadata;
    }

    /// <summary>Slice size for large tensors; tests lower it to exercise the sliced path on small tensors.</summary>
    internal long ReadSliceBytes { get; set; } = DefaultReadSliceBytes;

    /// <summary>The file this was opened from.</summary>
    public string FilePath { get; }

    /// <summary>Every tensor of the file, in the order of their bytes in the file.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The header's <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names, in file order.</summary>
    public IEnumerable<string> Keys => Entries.Select(e => e.Name);

    /// <summary>Opens <paramref name="path"/> and validates its whole header against the file's size.</summary>
    /// <exception cref="CheckpointException">The file is missing, truncated, or its header is invalid; the message says which tensor.</exception>
    public static SafeTensorsFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported.");
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw CheckpointException.ForFile(path, "checkpoint file not found", e);
        }

        try
        {
            var (entries, metadata) = ReadHeader(path, stream.SafeFileHandle, stream.Length);
            return new SafeTensorsFile(path, stream, entries, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    static (List<SafeTensorsEntry>, Dictionary<string, string>) ReadHeader(string path, SafeFileHandle handle, long fileLength)
    {
        if (fileLength < 8)
            throw CheckpointException.ForFile(path, $"truncated header: the file has {fileLength} bytes, fewer than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        ReadExactly(handle, lengthBytes, 0, path, null);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw CheckpointException.ForFile(path, $"truncated header: the header claims {headerLength} bytes but only {fileLength - 8} follow the length");
        if (headerLength > SafeTensorsHeader.MaxHeaderBytes)
            throw CheckpointException.ForFile(path, $"invalid header: {headerLength} bytes is beyond the {SafeTensorsHeader.MaxHeaderBytes}-byte limit");

        var json = new byte[headerLength];
        ReadExactly(handle, json, 8, path, null);
        long dataStart = 8 + (long)headerLength;
        return SafeTensorsHeader.Parse(path, json, dataStart, fileLength - dataStart);
    }

    /// <summary>Whether the file holds a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The header entry of <paramref name="name"/>, or false.</summary>
    public bool TryGetEntry(string name, out SafeTensorsEntry entry) => _byName.TryGetValue(name, out entry!);

    internal SafeTensorsEntry? GetEntryOrNull(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The header entry of <paramref name="name"/>.</summary>
    /// <exception cref="CheckpointException">The file has no such tensor.</exception>
    public SafeTensorsEntry GetEntry(string name)
        => _byName.TryGetValue(name, out var entry) ? entry
           : throw CheckpointException.ForKey(FilePath, name, "no such tensor in the file");

    /// <summary>Reads tensor <paramref name="name"/> into a new CPU tensor of its stored dtype and shape.</summary>
    /// <remarks>The caller owns the result; it joins the caller's current dispose scope, if any.</remarks>
    public Tensor ReadTensor(string name)
    {
        var entry = GetEntry(name);
        var tensor = empty(entry.ShapeArray, entry.DType);
        try
        {
            ReadBytes(entry, tensor);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads tensor <paramref name="name"/> into <paramref name="destination"/>, which must have the stored shape.
    /// A contiguous CPU destination of the stored dtype receives the file bytes directly in its memory, so
    /// the tensor is never held twice. Otherwise (another device, or another floating-point dtype) the tensor
    /// is read into a temporary and copied over with <c>copy_</c>, which converts.
    /// </summary>
    /// <exception cref="CheckpointException">The shapes differ, or the dtypes differ and are not both floating point.</exception>
    public void ReadInto(string name, Tensor destination)
    {
        var entry = GetEntry(name);
        CheckCompatible(FilePath, entry, destination);
        if (destination.dtype == entry.DType && destination.device_type == DeviceType.CPU && destination.is_contiguous())
        {
            ReadBytes(entry, destination);
            return;
        }
        using var temporary = ReadTensor(name);
        using (no_grad()) destination.copy_(temporary);
    }

    /// <summary>Throws unless <paramref name="entry"/> can be loaded into <paramref name="destination"/>.</summary>
    internal static void CheckCompatible(string path, SafeTensorsEntry entry, Tensor destination)
    {
        if (Incompatibility(entry, destination) is string problem) throw CheckpointException.ForKey(path, entry.Name, problem);
    }

    /// <summary>Why <paramref name="entry"/> cannot be loaded into <paramref name="destination"/>, or null when it can.</summary>
    internal static string? Incompatibility(SafeTensorsEntry entry, Tensor destination)
    {
        if (!entry.Shape.SequenceEqual(destination.shape))
            return $"shape mismatch: expected {SafeTensorsEntry.FormatShape(destination.shape)}, found {entry.ShapeText}";
        if (destination.dtype != entry.DType && !(SafeTensorsDType.IsFloatingPoint(entry.DType) && SafeTensorsDType.IsFloatingPoint(destination.dtype)))
            return $"dtype mismatch: expected {SafeTensorsDType.DisplayName(destination.dtype)}, found {entry.DTypeName}; only floating-point types convert into each other";
        return null;
    }

    /// <summary>Fills a contiguous CPU tensor of the entry's dtype and size with the entry's bytes, in slices.</summary>
    void ReadBytes(SafeTensorsEntry entry, Tensor destination)
    {
        if (entry.ByteLength == 0) return; // an empty tensor may have no data pointer at all
        if (entry.ByteLength <= ReadSliceBytes)
        {
            ReadExactly(_stream.SafeFileHandle, destination.bytes, entry.FileOffset, FilePath, entry.Name);
            return;
        }
        using var scope = NewDisposeScope();
        using var flat = destination.view(-1);
        long elementSize = entry.ByteLength / entry.ElementCount;
        long sliceElements = Math.Max(1, ReadSliceBytes / elementSize);
        for (long start = 0; start < entry.ElementCount; start += sliceElements)
        {
            using var slice = flat.narrow(0, start, Math.Min(sliceElements, entry.ElementCount - start));
            ReadExactly(_stream.SafeFileHandle, slice.bytes, entry.FileOffset + start * elementSize, FilePath, entry.Name);
        }
    }

    static void ReadExactly(SafeFileHandle handle, Span<byte> target, long offset, string path, string? key)
    {
        while (!target.IsEmpty)
        {
            int read = RandomAccess.Read(handle, target, offset);
            if (read == 0)
            {
                const string problem = "truncated data: the file ended early (was it changed after it was opened?)";
                throw key is null ? CheckpointException.ForFile(path, problem) : CheckpointException.ForKey(path, key, problem);
            }
            target = target[read..];
            offset += read;
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();
}
