using System.Diagnostics;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.CudaProbe;

/// <summary>Step e: training throughput of a MiniLM-shaped random BERT (6 layers x 384), LoRA bf16 and full fp32.</summary>
internal static class ThroughputSteps
{
    public static void Run(ProbeTarget target)
    {
        foreach (var (method, dtype) in new[] { ("lora", "bf16"), ("full", "fp32") })
            Probe.Step($"e.throughput-{method}-{dtype}", () => Train(target, method, dtype));
    }

    static void Train(ProbeTarget target, string method, string dtype)
    {
        bool cuda = target.Cuda;
        int batch = cuda ? 16 : 4, seq = cuda ? 128 : 32, warm = cuda ? 3 : 1, timed = cuda ? 20 : 2;
        var config = new BertConfig
        {
            ModelType = "bert", VocabSize = 30522, HiddenSize = 384, NumHiddenLayers = 6, NumAttentionHeads = 12, IntermediateSize = 1536,
            MaxPositionEmbeddings = 512, TypeVocabSize = 2, LayerNormEps = 1e-12,
        };
        torch.random.manual_seed(0);
        using var model = new BertForSequenceClassification(config, 2);
        // As the benchmarks' TrainingSetup: move, cast, then the method (LoRA factors take the base's device and dtype).
        model.to(target.Device);
        bool bf16 = dtype == "bf16";
        if (bf16) MixedPrecision.ToBFloat16(model);
        if (method == "lora") new LoraOptions { Rank = 8, Alpha = 16 }.Apply(model);
        else foreach (var p in model.parameters()) p.requires_grad = true;
        model.train();
        torch.random.manual_seed(0);
        using var ids = randint(1000, config.VocabSize, new long[] { batch, seq }).to(target.Device).DetachFromDisposeScope();
        using var mask = ones(batch, seq, dtype: ScalarType.Int64).to(target.Device).DetachFromDisposeScope();
        using var labels = randint(0, 2, new long[] { batch }).to(target.Device).DetachFromDisposeScope();
        var options = new TrainingOptions
        {
            LearningRate = 2e-5, BatchSize = batch, Epochs = 1, WarmupSteps = 0, Seed = 0, LogEverySteps = 0,
            Precision = bf16 ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32,
        };
        // The clock covers the steps after the warm-up ones, synchronized at both ends.
        var clock = new Stopwatch();
        var progress = new StepProgress(p =>
        {
            if (p.Step == warm) { target.Sync(); clock.Restart(); }
            if (p.Step == warm + timed) { target.Sync(); clock.Stop(); }
        });
        var trainer = new Trainer<int>(options, model.named_parameters(), _ =>
            nn.functional.cross_entropy(model.Logits(ids, mask).to(ScalarType.Float32), labels)) { Progress = progress };
        Probe.Say($"{method} {dtype}: {trainer.Summary}");
        var result = trainer.Fit(_ => Enumerable.Range(0, warm + timed), warm + timed);
        double s = clock.Elapsed.TotalSeconds;
        Probe.Say($"{method} {dtype} on {target.Name}, batch {batch} x seq {seq}: {timed} timed steps after {warm} warm-up in {s * 1e3:F0} ms = " +
                  $"{timed * batch / s:F1} examples/s ({s / timed * 1e3:F1} ms/step); loss {result.History.Steps[0].Loss:F4} -> {result.History.Steps[^1].Loss:F4}; " +
                  $"PeakCudaUsedMb={Probe.Mb(result.History.PeakCudaUsedMb)}");
    }

    sealed class StepProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }
}
