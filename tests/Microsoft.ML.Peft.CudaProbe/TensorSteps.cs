using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.CudaProbe;

/// <summary>Step c: raw TorchSharp tensors on the target, before any library code: matmul accuracy and rate.</summary>
internal static class TensorSteps
{
    public static void Run(ProbeTarget target)
    {
        Probe.Step("c.tf32", () =>
        {
            if (!target.Cuda) { Probe.Say("skipped on CPU"); return; }
            Probe.Say($"backends.cuda.matmul.allow_tf32 was {torch.backends.cuda.matmul.allow_tf32}; setting it to false (exact fp32 matmuls)");
            torch.backends.cuda.matmul.allow_tf32 = false;
            Probe.Say($"backends.cuda.matmul.allow_tf32 now {torch.backends.cuda.matmul.allow_tf32}; cudnn.allow_tf32 = {torch.backends.cudnn.allow_tf32}");
        });
        Probe.Step("c.matmul-fp32-1024", () => MatmulAccuracy(target));
        foreach (var (type, name) in new[] { (ScalarType.BFloat16, "bf16"), (ScalarType.Float32, "fp32") })
            Probe.Step($"c.matmul-rate-{name}", () => MatmulRate(target, type, name));
    }

    static void MatmulAccuracy(ProbeTarget target)
    {
        string dev = target.Name;
        using var scope = NewDisposeScope();
        torch.random.manual_seed(0);
        var a = randn(1024, 1024);
        var b = randn(1024, 1024);
        var reference = a.mm(b);
        var onTarget = a.to(target.Device).mm(b.to(target.Device)).cpu();
        Probe.Say($"fp32 1024^3 matmul {dev} vs cpu: max|diff|={Probe.MaxAbs(onTarget - reference):G4} (max|ref|={Probe.MaxAbs(reference):G4})");
        if (target.Cuda)
        {
            torch.backends.cuda.matmul.allow_tf32 = true;
            var tf32 = a.to(target.Device).mm(b.to(target.Device)).cpu();
            torch.backends.cuda.matmul.allow_tf32 = false;
            Probe.Say($"same with allow_tf32=true: max|diff|={Probe.MaxAbs(tf32 - reference):G4} (TF32 shows ~1e-2 here, fp32 ~1e-4)");
        }
        var bf = a.to(ScalarType.BFloat16, target.Device).mm(b.to(ScalarType.BFloat16, target.Device)).to(ScalarType.Float32).cpu();
        Probe.Say($"bf16 1024^3 matmul on {dev} vs fp32 cpu: max|diff|={Probe.MaxAbs(bf - reference):G4}, mean|diff|={(bf - reference).abs().mean().item<float>():G4}");
    }

    static void MatmulRate(ProbeTarget target, ScalarType type, string name)
    {
        long n = target.Cuda ? 8192 : 1024;
        int warm = 3, timed = target.Cuda ? 10 : 3;
        using var scope = NewDisposeScope();
        var a = randn(new[] { n, n }, dtype: type, device: target.Device);
        var b = randn(new[] { n, n }, dtype: type, device: target.Device);
        for (int i = 0; i < warm; i++) a.mm(b).Dispose();
        target.Sync();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < timed; i++) a.mm(b).Dispose();
        target.Sync();
        double s = clock.Elapsed.TotalSeconds;
        string tf32Note = target.Cuda && type == ScalarType.Float32 ? " (tf32 off)" : "";
        Probe.Say($"{name} {n}^3 matmul on {target.Name}{tf32Note}: {timed} in {s * 1e3:F1} ms = {2.0 * n * n * n * timed / s / 1e12:F1} TFLOP/s");
    }
}
