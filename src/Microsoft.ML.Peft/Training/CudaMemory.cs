using System.Runtime.InteropServices;
using TorchSharp;

namespace Microsoft.ML.Peft.Training;

/// <summary>
/// Memory in use on the current CUDA device, read from the CUDA runtime's <c>cudaMemGetInfo</c> (total minus free).
/// </summary>
/// <remarks>
/// TorchSharp 0.107 exposes none of libtorch's allocator statistics (<c>memory_allocated</c>, <c>max_memory_reserved</c>),
/// so this is the device-wide figure <c>nvidia-smi</c> shows: what libtorch's caching allocator has reserved, plus the
/// CUDA context and any other process on the same GPU. The CUDA runtime library comes with TorchSharp's CUDA packages;
/// without a GPU, or without that library, <see cref="TryRead"/> returns null.
/// </remarks>
public static class CudaMemory
{
    static readonly Lazy<GetInfo?> Query = new(Load);

    delegate int GetInfo(out nuint free, out nuint total);

    /// <summary>(used, total) MiB of the current CUDA device, or null when no CUDA device or runtime is available.</summary>
    public static (double UsedMb, double TotalMb)? TryRead()
    {
        if (!torch.cuda.is_available() || Query.Value is not { } query) return null;
        if (query(out nuint free, out nuint total) != 0) return null;  // cudaSuccess is 0
        const double mib = 1024.0 * 1024.0;
        return ((total - free) / mib, total / mib);
    }

    static GetInfo? Load()
    {
        string[] names = OperatingSystem.IsWindows()
            ? ["cudart64_12.dll", "cudart64_110.dll"]
            : ["libcudart.so.12", "libcudart.so.13", "libcudart.so.11.0", "libcudart.so"];
        foreach (string name in names)
            if (NativeLibrary.TryLoad(name, typeof(CudaMemory).Assembly, DllImportSearchPath.SafeDirectories | DllImportSearchPath.AssemblyDirectory, out IntPtr library)
                && NativeLibrary.TryGetExport(library, "cudaMemGetInfo", out IntPtr function))
                return Marshal.GetDelegateForFunctionPointer<GetInfo>(function);
        return null;
    }
}
