// CUDA smoke test of Microsoft.ML.Peft on TorchSharp 0.107 against whatever libtorch LD_LIBRARY_PATH offers
// (meant for a Python PyTorch install's torch/lib; see README.md). Every step prints a BEGIN line before it touches
// native code, so a native 'symbol lookup error' that kills the process still shows where it happened.
// Usage: CudaProbe [--cpu-only] [--skip STEP,STEP...]
//   --cpu-only runs the same steps with "cpu" as the target device (smaller sizes); --skip leaves the named steps out.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Peft.CudaProbe;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var total = Stopwatch.StartNew();
bool cpuOnly = args.Contains("--cpu-only");
// --skip a,b,c: steps not to run (run-probe.sh reruns with the step that killed the process skipped).
int skipAt = Array.IndexOf(args, "--skip");
if (skipAt >= 0 && skipAt + 1 < args.Length)
    foreach (string name in args[skipAt + 1].Split(',', StringSplitOptions.RemoveEmptyEntries)) Probe.Skip.Add(name.Trim());

NativeLoadSteps.ReportEnvironment(args, cpuOnly);     // a. environment
bool cuda = NativeLoadSteps.LoadAndDetect(cpuOnly);   // b. native load and CUDA detection
if (cuda || cpuOnly)
{
    var target = new ProbeTarget(cuda);
    Probe.Say($"target device for steps c-e: {target.Name}");
    TensorSteps.Run(target);      // c. raw tensor checks
    LibrarySteps.Run(target);     // d. the library on the target device
    ThroughputSteps.Run(target);  // e. training throughput
}
else
{
    Probe.Say("CUDA is not available and --cpu-only was not given: skipping steps c, d, e");
}

Probe.Say($"total {total.Elapsed.TotalSeconds:F1} s, {Probe.Failures} step(s) failed");
Probe.Say("PROBE DONE");
return Probe.Failures == 0 ? 0 : 1;
