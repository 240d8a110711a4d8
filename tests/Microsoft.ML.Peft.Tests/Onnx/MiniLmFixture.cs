using System.Diagnostics;
using Microsoft.ML.Peft.Onnx;

namespace Microsoft.ML.Peft.Tests.Onnx;

/// <summary>Converts all-MiniLM-L6-v2 once into a fresh cache root shared by the tests of a class.</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmFixture()
    {
        CacheRoot = Path.Combine(Path.GetTempPath(), "peft-onnx-tests-" + Guid.NewGuid().ToString("N")[..8]);
        var watch = Stopwatch.StartNew();
        Folder = MiniLmL6V2.EnsureDownloaded(CacheRoot);
        ConversionSeconds = watch.Elapsed.TotalSeconds;
        Weights = new ImportedWeights(Path.Combine(Folder, "model.safetensors"));
    }

    public string CacheRoot { get; }
    public string Folder { get; }
    public double ConversionSeconds { get; }
    public ImportedWeights Weights { get; }
    public string OnnxPath => Path.Combine(Folder, "onnx", "model.onnx");

    public void Dispose()
    {
        Weights.Dispose();
        try { Directory.Delete(CacheRoot, recursive: true); } catch (IOException) { }
    }
}
