using System.Runtime.InteropServices;

namespace Microsoft.ML.Peft.Training;

/// <summary>
/// Keeps glibc's heap from hoarding freed tensor memory during training (Linux only).
/// </summary>
/// <remarks>
/// libtorch's CPU tensors come from <c>malloc</c>. glibc serves blocks above its mmap threshold with <c>mmap</c> and
/// returns them on <c>free</c>, but each such free raises the threshold (up to 32 MiB), after which activation-sized
/// blocks come from the heap, where freed memory stays resident and fragments. Measured on the Generation sample
/// (GPT-2, 3.4M parameters, batch 8 × 128): resident memory climbed from 786 MiB to 1.6 GiB over 150 steps (peak 1.85
/// GiB); with the threshold pinned at 1 MiB it stayed at 290-310 MiB (peak 411 MiB) at the same speed. Pinning it is
/// process-wide, so it is done once, and not when the application set <c>MALLOC_MMAP_THRESHOLD_</c> itself.
/// </remarks>
public static class NativeHeap
{
    const int MmapThresholdOption = -3;  // M_MMAP_THRESHOLD in malloc.h
    static int _pinned;

    /// <summary>Size from which allocations are mapped (and unmapped on free) once <see cref="PinMmapThreshold"/> ran.</summary>
    public const int MmapThresholdBytes = 1 << 20;

    /// <summary>Pins glibc's mmap threshold at <see cref="MmapThresholdBytes"/>; true if this call or an earlier one did.</summary>
    public static bool PinMmapThreshold()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null) return false;
        if (Volatile.Read(ref _pinned) == 1) return true;
        try
        {
            if (mallopt(MmapThresholdOption, MmapThresholdBytes) != 1) return false;  // mallopt returns 1 on success
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;  // not glibc (e.g. musl): nothing to pin
        }
        Volatile.Write(ref _pinned, 1);
        return true;
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int parameter, int value);
}
