using Microsoft.ML.Peft.Core;

namespace Microsoft.ML.Peft.Tests.Models;

public class TorchDevicesTests
{
    [Fact]
    public void Automatic_choice_prefers_cuda_when_available()
    {
        Assert.Equal("cpu", TorchDevices.ResolveName(null, cudaAvailable: false));
        Assert.Equal("cpu", TorchDevices.ResolveName("auto", cudaAvailable: false));
        Assert.Equal("cuda", TorchDevices.ResolveName(null, cudaAvailable: true));
        Assert.Equal(TorchSharp.DeviceType.CPU, TorchDevices.Resolve("cpu").type);
    }

    [Fact]
    public void Explicit_device_wins_and_cuda_index_is_kept()
    {
        Assert.Equal("cpu", TorchDevices.ResolveName("cpu", cudaAvailable: true));
        Assert.Equal("cuda:1", TorchDevices.ResolveName("CUDA:1", cudaAvailable: true));
    }

    [Fact]
    public void MLContext_gpu_id_and_fallback_are_honoured()
    {
        var gpu = new MLContext { GpuDeviceId = 2 };
        Assert.Equal("cuda:2", TorchDevices.ResolveName(null, gpu, cudaAvailable: true));
        var e = Assert.Throws<InvalidOperationException>(() => TorchDevices.ResolveName(null, gpu, cudaAvailable: false));
        Assert.Contains("cuda:2", e.Message);
        var fallback = new MLContext { GpuDeviceId = 0, FallbackToCpu = true };
        Assert.Equal("cpu", TorchDevices.ResolveName(null, fallback, cudaAvailable: false));
    }

    [Fact]
    public void Unknown_device_is_rejected_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => TorchDevices.ResolveName("tpu", cudaAvailable: false));
        Assert.Contains("'tpu'", e.Message);
        Assert.Throws<ArgumentException>(() => TorchDevices.ResolveName("cuda:x", cudaAvailable: true));
    }
}
