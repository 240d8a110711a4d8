using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.Training;

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
