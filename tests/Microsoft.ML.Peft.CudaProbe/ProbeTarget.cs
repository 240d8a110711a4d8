using static TorchSharp.torch;

namespace Microsoft.ML.Peft.CudaProbe;

/// <summary>The device steps c-e run on: CUDA when it is available, the CPU under --cpu-only (with smaller sizes).</summary>
internal sealed class ProbeTarget(bool cuda)
{
    public bool Cuda { get; } = cuda;

    public string Name => Cuda ? "cuda" : "cpu";

    public Device Device { get; } = new(cuda ? "cuda" : "cpu");

    /// <summary>Waits for queued CUDA work, so that a stopwatch measures the kernels rather than their launch.</summary>
    public void Sync()
    {
        if (Cuda) TorchSharp.torch.cuda.synchronize();
    }
}
