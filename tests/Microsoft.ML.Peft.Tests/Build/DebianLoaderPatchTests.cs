using System.Text;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Build;

public class DebianLoaderPatchTests
{
    [Fact]
    public void TorchSharp_loads_and_computes()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var product = a.matmul(a);  // [[7, 10], [15, 22]]
        Assert.Equal(new float[] { 7, 10, 15, 22 }, product.data<float>().ToArray());
    }

    [Fact]
    public void Patch_marks_only_the_glibcxx_3_4_32_need_weak_and_is_idempotent()
    {
        string original = Path.Combine(Tokenization.NuGetPackages.Root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", GlibcxxVersionPatch.LibraryName);
        Assert.True(File.Exists(original), $"TorchSharp's native library not found at {original}");
        string copy = Path.Combine(Path.GetTempPath(), $"peft-patch-{Guid.NewGuid():N}.so");
        File.Copy(original, copy);
        try
        {
            byte[] before = File.ReadAllBytes(copy);
            Assert.True(GlibcxxVersionPatch.Apply(copy));    // first run changes the file
            Assert.False(GlibcxxVersionPatch.Apply(copy));   // second run finds it already weak
            byte[] after = File.ReadAllBytes(copy);

            // Exactly one byte differs: the low byte of vna_flags, gaining VER_FLG_WEAK (0x2).
            var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
            Assert.Single(changed);
            Assert.Equal(before[changed[0]] | 0x2, after[changed[0]]);
        }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void Built_library_is_patched_exactly_when_the_system_lacks_the_version()
    {
        string built = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", GlibcxxVersionPatch.LibraryName);
        if (!OperatingSystem.IsLinux() || !File.Exists(built)) return;  // nothing to check off Linux x64
        // Applying again reports "no change" when the build already patched it (or the system never needed it).
        string copy = Path.Combine(Path.GetTempPath(), $"peft-built-{Guid.NewGuid():N}.so");
        File.Copy(built, copy);
        try { Assert.Equal(GlibcxxVersionPatch.SystemProvidesVersion(), GlibcxxVersionPatch.Apply(copy)); }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void Non_elf_file_is_rejected_with_its_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"peft-not-elf-{Guid.NewGuid():N}.so");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes(new string('x', 100)));
        try { Assert.Contains(path, Assert.Throws<InvalidDataException>(() => GlibcxxVersionPatch.Apply(path)).Message); }
        finally { File.Delete(path); }
    }
}
