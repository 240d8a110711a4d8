namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Resident memory of this process from <c>/proc/self/status</c>: VmRSS (now) and VmHWM (the peak since the
/// process started). Native tensor memory is invisible to the GC, so the kernel's view is the one that counts.
/// </summary>
readonly record struct ProcessMemory(long RssBytes, long PeakBytes)
{
    public static bool IsAvailable => File.Exists("/proc/self/status");

    /// <summary>
    /// Resets VmHWM to the current RSS (writing 5 to <c>/proc/self/clear_refs</c>, Linux 4.0+), so that the
    /// next peak belongs to what runs after. Returns false where the kernel refuses it.
    /// </summary>
    public static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Returns the C heap's free pages to the kernel (glibc <c>malloc_trim</c>), so that memory freed by an earlier
    /// step and reused by the next one shows up as growth again. Returns false without glibc.
    /// </summary>
    public static bool TryTrimHeap()
    {
        try
        {
            malloc_trim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);

    public static ProcessMemory Read()
    {
        long rss = 0, peak = 0;
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = ParseKiB(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = ParseKiB(line);
        }
        return new ProcessMemory(rss, peak);
    }

    /// <summary>Lines look like <c>VmRSS:	  123456 kB</c>.</summary>
    static long ParseKiB(string line)
        => long.Parse(line.Split(' ', '\t').Where(s => s.Length > 0).ElementAt(1)) * 1024;
}
