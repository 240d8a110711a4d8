namespace Microsoft.ML.Peft.Training;

/// <summary>Process memory, read from <c>/proc/self/status</c> on Linux (zeros elsewhere), and the CUDA device's when there is one.</summary>
/// <param name="ResidentMb">Current resident set size (VmRSS) in MiB.</param>
/// <param name="PeakResidentMb">Peak resident set size (VmHWM) in MiB.</param>
public sealed record MemoryReport(double ResidentMb, double PeakResidentMb)
{
    /// <summary>MiB in use on the current CUDA device (see <see cref="CudaMemory"/>); null without CUDA.</summary>
    public double? CudaUsedMb { get; init; }

    /// <summary>The current CUDA device's total MiB; null without CUDA.</summary>
    public double? CudaTotalMb { get; init; }

    /// <summary>Reads the current figures.</summary>
    public static MemoryReport Current()
    {
        var cuda = CudaMemory.TryRead();
        return ReadProcess() with { CudaUsedMb = cuda?.UsedMb, CudaTotalMb = cuda?.TotalMb };
    }

    /// <summary>The process figures alone (no CUDA query), as the heap guard reads them after every step.</summary>
    internal static MemoryReport ReadProcess()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return new MemoryReport(0, 0);
        double rss = 0, hwm = 0;
        foreach (string line in File.ReadLines(status))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = KiloBytes(line) / 1024.0;
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = KiloBytes(line) / 1024.0;
        }
        return new MemoryReport(rss, hwm);
    }

    // "VmRSS:\t  123456 kB": the kernel pads the number with spaces after a tab, and at 10 GB the padding is gone,
    // so split on both.
    internal static long KiloBytes(string line) => long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1]);

    /// <inheritdoc />
    public override string ToString() =>
        $"RSS {ResidentMb:F0} MiB, peak {PeakResidentMb:F0} MiB" + (CudaUsedMb is double used ? $", CUDA {used:F0} of {CudaTotalMb:F0} MiB in use" : "");
}
