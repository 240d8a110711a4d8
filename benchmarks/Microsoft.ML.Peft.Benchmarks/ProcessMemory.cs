namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Resident memory of this process from <c>/proc/self/status</c>: VmRSS (now) and VmHWM (the peak since the
/// process started). Native tensor memory is invisible to the GC, so the kernel's view is the one that counts.
/// </summary>
readonly record struct ProcessMemory(long RssBytes, long PeakBytes)
{
    public static bool IsAvailable => File.Exists("/proc/self/status");

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
