using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.Training;

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
