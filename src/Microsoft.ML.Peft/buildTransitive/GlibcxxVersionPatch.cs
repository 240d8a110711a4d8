// Marks libLibTorchSharp.so's need for GLIBCXX_3.4.32 as weak when the system libstdc++ lacks it.
// Compiled by MSBuild's RoslynCodeTaskFactory (see Microsoft.ML.Peft.targets) and, with PEFT_TESTS defined,
// by the test project, which checks the patch on a copy of the library.
using System;
using System.IO;
using System.Linq;
using System.Text;

#if !PEFT_TESTS
public class PeftWeakenGlibcxxRequirement : Microsoft.Build.Utilities.Task
{
    [Microsoft.Build.Framework.Required]
    public string Directory { get; set; } = "";

    public override bool Execute()
    {
        if (!System.IO.Directory.Exists(Directory) || GlibcxxVersionPatch.SystemProvidesVersion())
            return true;
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, GlibcxxVersionPatch.LibraryName, SearchOption.AllDirectories))
        {
            try
            {
                if (GlibcxxVersionPatch.Apply(path))
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                        "Marked {0} weak in {1} (the system libstdc++ lacks it).", GlibcxxVersionPatch.Version, path);
            }
            catch (Exception e)
            {
                Log.LogWarning("Could not patch {0}: {1}", path, e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }
}
#endif

public static class GlibcxxVersionPatch
{
    public const string LibraryName = "libLibTorchSharp.so";
    public const string Version = "GLIBCXX_3.4.32";

    const uint SHT_GNU_verneed = 0x6ffffffe;
    const ushort VER_FLG_WEAK = 0x2;

    static readonly string[] LibStdCxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
    };

    /// <summary>True when the first libstdc++ found on the usual paths names <see cref="Version"/>.</summary>
    public static bool SystemProvidesVersion()
    {
        var path = LibStdCxxCandidates.FirstOrDefault(File.Exists);
        if (path == null) return false;
        return IndexOf(File.ReadAllBytes(path), Encoding.ASCII.GetBytes(Version + "\0")) >= 0;
    }

    /// <summary>
    /// Sets VER_FLG_WEAK on the version-needed entry for <see cref="Version"/> in an ELF64 little-endian file.
    /// Returns true when the file changed, false when it was already weak or does not need the version.
    /// </summary>
    public static bool Apply(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException($"{path} is not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file.");

        long sectionTable = (long)U64(elf, 0x28);
        int sectionSize = U16(elf, 0x3A), sectionCount = U16(elf, 0x3C);
        for (int s = 0; s < sectionCount; s++)
        {
            long header = sectionTable + (long)s * sectionSize;
            if (U32(elf, header + 4) != SHT_GNU_verneed) continue;
            long verneed = (long)U64(elf, header + 0x18);
            long strtab = (long)U64(elf, sectionTable + (long)U32(elf, header + 0x28) * sectionSize + 0x18);
            return WeakenInVerneed(path, elf, verneed, strtab);
        }
        return false;
    }

    // Walks Elf64_Verneed { u16 version, u16 cnt, u32 file, u32 aux, u32 next } and its
    // Elf64_Vernaux { u32 hash, u16 flags, u16 other, u32 name, u32 next } chains.
    static bool WeakenInVerneed(string path, byte[] elf, long verneed, long strtab)
    {
        for (long need = verneed; ; )
        {
            int count = U16(elf, need + 2);
            long aux = need + U32(elf, need + 8);
            for (int i = 0; i < count; i++)
            {
                if (CString(elf, strtab + U32(elf, aux + 8)) == Version)
                {
                    ushort flags = U16(elf, aux + 4);
                    if ((flags & VER_FLG_WEAK) != 0) return false;
                    using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
                    file.Position = aux + 4;
                    file.Write(BitConverter.GetBytes((ushort)(flags | VER_FLG_WEAK)), 0, 2);
                    return true;
                }
                aux += U32(elf, aux + 12);
            }
            uint next = U32(elf, need + 12);
            if (next == 0) return false;
            need += next;
        }
    }

    static ushort U16(byte[] b, long at) => BitConverter.ToUInt16(b, checked((int)at));
    static uint U32(byte[] b, long at) => BitConverter.ToUInt32(b, checked((int)at));
    static ulong U64(byte[] b, long at) => BitConverter.ToUInt64(b, checked((int)at));

    static string CString(byte[] b, long at)
    {
        int end = (int)at;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}
