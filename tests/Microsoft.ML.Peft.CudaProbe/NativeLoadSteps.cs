using System.Runtime.InteropServices;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.CudaProbe;

/// <summary>Steps a and b: the environment, loading libtorch, and whether CUDA works.</summary>
internal static class NativeLoadSteps
{
    /// <summary>a. What the process runs with; turns TorchSharp's NuGet-cache fallback off.</summary>
    public static void ReportEnvironment(string[] args, bool cpuOnly) => Probe.Step("a.env", () =>
    {
        Probe.Say($"args=[{string.Join(' ', args)}] mode={(cpuOnly ? "cpu-only" : "cuda")} os={RuntimeInformation.OSDescription} arch={RuntimeInformation.ProcessArchitecture} " +
                  $".NET={RuntimeInformation.FrameworkDescription} cores={Environment.ProcessorCount} pid={Environment.ProcessId}");
        Probe.Say($"exe dir={AppContext.BaseDirectory}");
        Probe.Say($"LD_LIBRARY_PATH={Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "(unset)"}");
        Probe.Say($"CUDA_VISIBLE_DEVICES={Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "(unset)"}");
        // TorchSharp's loader, when the plain load by name fails, falls back to copying libtorch out of ~/.nuget/packages
        // (or $NUGET_PACKAGES) next to the exe. Point it at nothing so only LD_LIBRARY_PATH's libtorch can be used.
        if (Environment.GetEnvironmentVariable("PROBE_ALLOW_NUGET_FALLBACK") != "1")
        {
            Environment.SetEnvironmentVariable("NUGET_PACKAGES", "/nonexistent/cudaprobe-no-nuget-fallback");
            Probe.Say("NUGET_PACKAGES set to a missing folder: TorchSharp's NuGet-cache fallback is off (PROBE_ALLOW_NUGET_FALLBACK=1 keeps it)");
        }
        Probe.Say($"libLibTorchSharp.so next to exe: {File.Exists(Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"))}");
    });

    /// <summary>b. Loads libtorch and TorchSharp, lists what got mapped; true when CUDA is usable (never under --cpu-only).</summary>
    public static bool LoadAndDetect(bool cpuOnly)
    {
        Preload(cpuOnly);
        if (!cpuOnly)
        {
            Probe.Step("b.init-cuda", () =>
            {
                // Caught here rather than by Step: the whole exception text, as TorchSharp's loader words it, is the diagnosis.
                try
                {
                    torch.InitializeDeviceType(DeviceType.CUDA);
                    Probe.Say("InitializeDeviceType(CUDA) returned normally");
                }
                catch (Exception e)
                {
                    Probe.Say("InitializeDeviceType(CUDA) threw:\n" + e);
                }
            });
        }
        else
        {
            Probe.Step("b.init-cpu", () => { torch.InitializeDeviceType(DeviceType.CPU); Probe.Say("InitializeDeviceType(CPU) returned normally"); });
        }
        Probe.Step("b.libs", () =>
        {
            foreach (string lib in Probe.LoadedLibraries()) Probe.Say("loaded " + lib);
            Probe.Say($"TorchSharp torch.__version__ (the libtorch it was built for) = {torch.__version__}");
            Probe.Say($"libtorch actually loaded: {Probe.LoadedTorchVersion() ?? "unknown (no version.py next to the loaded libtorch_cpu.so)"}");
        });
        bool cuda = false;
        if (!cpuOnly)
        {
            Probe.Step("b.cuda-available", () =>
            {
                cuda = torch.cuda.is_available();
                Probe.Say($"torch.cuda.is_available()={cuda}");
            });
            Probe.Step("b.cuda-details", () =>
            {
                Probe.Say($"torch.cuda.device_count()={torch.cuda.device_count()}");
                Probe.Say($"torch.cuda.is_cudnn_available()={torch.cuda.is_cudnn_available()}");
                Probe.Say($"TorchDevices.ResolveName(auto)={TorchDevices.ResolveName()}");
                var cudaMemory = CudaMemory.TryRead();
                Probe.Say($"CudaMemory.TryRead()={(cudaMemory is { } m ? $"used {m.UsedMb:F0} MiB of {m.TotalMb:F0} MiB" : "null")}");
            });
        }
        Probe.Step("b.threads", () => Probe.Say($"torch.get_num_threads()={torch.get_num_threads()}"));
        return cuda;
    }

    // Loads the libraries one by one, as TorchSharp would, so that a failure shows dlerror's own words (which library,
    // which symbol) instead of TorchSharp's generic message. Lazy binding: a missing *function* only shows when called.
    static void Preload(bool cpuOnly) => Probe.Step("b.preload", () =>
    {
        string[] names = cpuOnly
            ? ["libc10.so", "libtorch_cpu.so", "libtorch.so"]
            : ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];
        foreach (string name in names.Append(Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so")))
        {
            Probe.Say($"dlopen {name} ...");
            try { NativeLibrary.Load(name); Probe.Say($"dlopen {name}: ok"); }
            catch (Exception e) { Probe.Say($"dlopen {name}: FAILED {e.GetType().Name}: {e.Message}"); }
        }
    });
}
