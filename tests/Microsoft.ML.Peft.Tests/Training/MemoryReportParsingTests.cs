using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.Training;

public class MemoryReportParsingTests
{
    [Theory]
    [InlineData("VmRSS:\t  123456 kB", 123456)]
    [InlineData("VmHWM:\t10485760 kB", 10485760)]   // 10 GiB: no space left between the tab and the number
    public void Status_lines_parse_with_or_without_padding(string line, long expected) =>
        Assert.Equal(expected, MemoryReport.KiloBytes(line));
}

/// <summary>Without a GPU the CUDA part of the memory report is absent rather than zero or an error.</summary>
public class CudaMemoryReportTests
{
    [Fact]
    public void Cpu_only_machine_reports_no_cuda_memory()
    {
        Assert.False(TorchSharp.torch.cuda.is_available(), "this test describes a machine without CUDA");
        Assert.Null(CudaMemory.TryRead());
        var report = MemoryReport.Current();
        Assert.Null(report.CudaUsedMb);
        Assert.True(report.PeakResidentMb > 0);
        Assert.DoesNotContain("CUDA", report.ToString());
        Assert.Contains("CUDA 512 of 1024 MiB", (report with { CudaUsedMb = 512, CudaTotalMb = 1024 }).ToString());
    }
}

/// <summary>The trainer pins glibc's mmap threshold once, so freed activations leave the process.</summary>
public class NativeHeapTests
{
    [Fact]
    public void Mmap_threshold_pins_on_glibc_linux_and_stays_pinned()
    {
        Assert.True(OperatingSystem.IsLinux(), "this test describes the Linux CI machine");
        Assert.Null(Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_"));
        Assert.True(NativeHeap.PinMmapThreshold());
        Assert.True(NativeHeap.PinMmapThreshold());  // idempotent
    }
}
