using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.CudaProbe;

/// <summary>Step runner and output helpers shared by every step.</summary>
internal static class Probe
{
    static readonly Stopwatch Clock = Stopwatch.StartNew();

    /// <summary>Names of the steps not to run (--skip).</summary>
    public static readonly HashSet<string> Skip = new(StringComparer.Ordinal);

    /// <summary>Prints a line and flushes at once, so the output survives a native crash right after it.</summary>
    public static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    /// <summary>Number of steps that ended in FAIL; the process exits with 1 when any did.</summary>
    public static int Failures { get; private set; }

    /// <summary>Runs one step: BEGIN line first (so a native crash names the step), then OK or FAIL with the exception.</summary>
    public static void Step(string name, Action body)
    {
        if (Skip.Contains(name))
        {
            Say($"[{Clock.Elapsed.TotalSeconds,6:F1}s] SKIP {name} (--skip)");
            return;
        }
        Say($"[{Clock.Elapsed.TotalSeconds,6:F1}s] BEGIN {name}");
        var clock = Stopwatch.StartNew();
        // Test hook for run-probe.sh's rerun logic: PROBE_CRASH_IN=STEP exits as a symbol lookup error would (code 127).
        if (Environment.GetEnvironmentVariable("PROBE_CRASH_IN") == name) Environment.Exit(127);
        try
        {
            body();
            Say($"[{Clock.Elapsed.TotalSeconds,6:F1}s] OK {name} ({clock.Elapsed.TotalMilliseconds:F0} ms)");
        }
        catch (Exception e)
        {
            Failures++;
            Say($"[{Clock.Elapsed.TotalSeconds,6:F1}s] FAIL {name}: {e.GetType().FullName}: {e.Message}");
            for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
                Say($"    inner {inner.GetType().FullName}: {inner.Message}");
            Say("    at " + string.Join("\n    ", (e.StackTrace ?? "").Split('\n').Take(8).Select(l => l.Trim())));
        }
    }

    public static double MaxAbs(Tensor t) => t.abs().max().to(ScalarType.Float64).item<double>();

    public static string Mb(double? mb) => mb is double v ? v.ToString("F0", CultureInfo.InvariantCulture) : "null";

    /// <summary>The torch / CUDA / TorchSharp shared libraries mapped into this process, with their paths.</summary>
    public static IEnumerable<string> LoadedLibraries()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return [];
        return File.ReadLines(maps)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[5].StartsWith('/'))
            .Select(f => string.Join(' ', f.Skip(5)))
            .Where(p => Path.GetFileName(p) is var n && (n.Contains("torch", StringComparison.OrdinalIgnoreCase) || n.StartsWith("libc10")
                        || n.StartsWith("libcud") || n.StartsWith("libcublas") || n.StartsWith("libnccl") || n.StartsWith("libgomp") || n.StartsWith("libstdc++")))
            .Distinct();
    }

    /// <summary>The version in torch/version.py next to the loaded libtorch_cpu.so (a Python install), if any.</summary>
    public static string? LoadedTorchVersion()
    {
        var cpuLib = LoadedLibraries().FirstOrDefault(p => Path.GetFileName(p) == "libtorch_cpu.so");
        if (cpuLib is null) return null;
        var versionPy = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(cpuLib)!)!, "version.py");
        if (!File.Exists(versionPy)) return $"(libtorch_cpu.so from {cpuLib}; no {versionPy})";
        var lines = File.ReadLines(versionPy).Where(l => l.StartsWith("__version__") || l.StartsWith("cuda")).Select(l => l.Trim());
        return $"{string.Join("; ", lines)} (from {versionPy})";
    }
}
