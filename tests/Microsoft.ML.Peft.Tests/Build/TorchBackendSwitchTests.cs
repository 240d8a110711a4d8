using System.Diagnostics;
using System.Text.Json;

namespace Microsoft.ML.Peft.Tests.Build;

/// <summary>
/// The native backend is the app's choice: the CPU package by default, TorchSharp's CUDA bundle with
/// -p:TorchBackend=cuda. CUDA packages are not served here, so this checks what MSBuild resolves
/// (dotnet msbuild -getItem) rather than restoring them.
/// </summary>
public class TorchBackendSwitchTests
{
    static List<string> PackageReferences(string project, string? backend)
    {
        var args = $"msbuild \"{project}\" -getItem:PackageReference -nologo" + (backend is null ? "" : $" -p:TorchBackend={backend}");
        var info = new ProcessStartInfo("dotnet", args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, output + process.StandardError.ReadToEnd());
        using var json = JsonDocument.Parse(output);
        return json.RootElement.GetProperty("Items").GetProperty("PackageReference").EnumerateArray()
            .Select(item => item.GetProperty("Identity").GetString()!).ToList();
    }

    [Fact]
    public void Apps_get_the_cpu_backend_by_default_and_cuda_with_one_switch()
    {
        string tests = Path.Combine(RepoPaths.Root, "tests", "Microsoft.ML.Peft.Tests", "Microsoft.ML.Peft.Tests.csproj");
        var cpu = PackageReferences(tests, null);
        var cuda = PackageReferences(tests, "cuda");
        if (OperatingSystem.IsLinux())
        {
            Assert.Contains("libtorch-cpu-linux-x64", cpu);
            Assert.DoesNotContain("TorchSharp-cuda-linux", cpu);
            Assert.Contains("TorchSharp-cuda-linux", cuda);
            Assert.DoesNotContain("libtorch-cpu-linux-x64", cuda);
        }
    }

    [Fact]
    public void The_library_references_only_managed_TorchSharp()
    {
        string library = Path.Combine(RepoPaths.Root, "src", "Microsoft.ML.Peft", "Microsoft.ML.Peft.csproj");
        var refs = PackageReferences(library, "cuda");
        Assert.Contains("TorchSharp", refs);
        Assert.DoesNotContain(refs, r => r.StartsWith("libtorch", StringComparison.Ordinal) || r.StartsWith("TorchSharp-", StringComparison.Ordinal));
    }
}
