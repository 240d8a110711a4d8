using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Microsoft.ML.Peft.Onnx.MiniLm;

/// <summary>
/// Reads embedded manifest resources straight from an assembly file with System.Reflection.Metadata,
/// without loading the assembly (no code from the package runs, and nothing stays locked in the load context).
/// </summary>
internal static class ManifestResourceFile
{
    /// <summary>The names of the embedded resources of the assembly at <paramref name="assemblyPath"/>.</summary>
    public static List<string> Names(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var metadata = pe.GetMetadataReader();
        return metadata.ManifestResources.Select(h => metadata.GetString(metadata.GetManifestResource(h).Name)).ToList();
    }

    /// <summary>Copies the embedded resource <paramref name="name"/> to the file <paramref name="destination"/>.</summary>
    public static void Extract(string assemblyPath, string name, string destination)
    {
        long fileOffset;
        using (var pe = new PEReader(File.OpenRead(assemblyPath)))
        {
            var metadata = pe.GetMetadataReader();
            var handle = metadata.ManifestResources.Cast<ManifestResourceHandle?>()
                .FirstOrDefault(h => metadata.GetString(metadata.GetManifestResource(h!.Value).Name) == name)
                ?? throw new InvalidDataException($"'{assemblyPath}' has no resource '{name}'; it has: {string.Join(", ", Names(assemblyPath))}.");
            var resource = metadata.GetManifestResource(handle);
            if (!resource.Implementation.IsNil)
                throw new InvalidDataException($"Resource '{name}' of '{assemblyPath}' lives in another file.");
            // Embedded resources sit in the CLI resources directory, each as a 4-byte length then the bytes.
            int rva = pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress + (int)resource.Offset;
            var section = pe.PEHeaders.SectionHeaders.First(s => rva >= s.VirtualAddress && rva < s.VirtualAddress + Math.Max(s.VirtualSize, s.SizeOfRawData));
            fileOffset = section.PointerToRawData + (rva - section.VirtualAddress);
        }

        using var input = File.OpenRead(assemblyPath);
        input.Position = fileOffset;
        Span<byte> prefix = stackalloc byte[4];
        input.ReadExactly(prefix);
        long length = BitConverter.ToUInt32(prefix);
        if (fileOffset + 4 + length > input.Length)
            throw new InvalidDataException($"Resource '{name}' of '{assemblyPath}' runs past the end of the file.");
        using var output = File.Create(destination);
        var buffer = new byte[1 << 20];
        for (long left = length; left > 0;)
        {
            int read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read <= 0) throw new EndOfStreamException($"'{assemblyPath}' ended inside resource '{name}'.");
            output.Write(buffer, 0, read);
            left -= read;
        }
    }
}
