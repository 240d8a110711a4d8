using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Onnx;
using Microsoft.ML.Peft.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Inference speed of our BertModel (fp32 and bf16) against ONNX Runtime on the real all-MiniLM-L6-v2, one
/// batch of 32 sentences padded to 128 tokens. Rounds run the contenders in a fresh random order each time,
/// so that a noisy neighbour or a thermal drift hits all of them alike; medians are reported.
/// Usage: <c>encoder-forward [--rounds 15] [--warmup 3] [--seed 1]</c>.
/// Goals: fp32 at least 1.1x ORT, bf16 at least 3x ORT with a cosine to fp32 of at least 0.999.
/// </summary>
sealed class EncoderForwardBenchmark : IBenchmark
{
    const int SequenceLength = 128;

    public string Name => "encoder-forward";

    public string Description => "sentences/s of our MiniLM encoder (fp32, bf16) vs ONNX Runtime, batch 32 x 128 tokens";

    public void Run(string[] args)
    {
        var options = Options.Parse(args);
        int threads = Environment.ProcessorCount;
        torch.set_num_threads(threads);

        string folder = MiniLmL6V2.EnsureDownloaded();
        string onnxPath = Path.Combine(folder, "onnx", "model.onnx");
        var pretrained = PretrainedModel.FromDirectory(folder);
        var batch = pretrained.Tokenizer.EncodeBatch(EncoderForwardSentences.All, maxLength: SequenceLength, padding: PaddingMode.MaxLength);
        int realTokens = Enumerable.Range(0, batch.BatchSize).Sum(batch.Length);

        using var ortOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        var contenders = new List<EncoderContender>();
        try
        {
            contenders.Add(new OrtContender(onnxPath, ortOptions, batch));
            contenders.Add(new TorchContender(pretrained, null, batch, "ours fp32"));
            contenders.Add(new TorchContender(pretrained, ScalarType.BFloat16, batch, "ours bf16"));

            Console.WriteLine($"encoder-forward: all-MiniLM-L6-v2, batch {batch.BatchSize} x {batch.SequenceLength} tokens " +
                              $"({realTokens} real, {100.0 * realTokens / (batch.BatchSize * batch.SequenceLength):F0}%), {options.Rounds} rounds");
            Console.WriteLine($"threads: torch {torch.get_num_threads()} (interop {torch.get_num_interop_threads()}), " +
                              $"ORT intra-op {threads}, ORT_ENABLE_ALL, sequential; {Environment.ProcessorCount} logical CPUs, " +
                              $"load average {BenchmarkArguments.LoadAverage()}");

            var peaks = contenders.ToDictionary(c => c, c => WarmUp(c, options.Warmup));
            var times = Measure(contenders, options);
            var accuracy = Accuracy.Compute(batch, contenders[0].Output(), contenders[1].Output(), contenders[2].Output());
            Report(contenders, times, peaks, accuracy, batch.BatchSize);
        }
        finally
        {
            foreach (var c in contenders) c.Dispose();
        }
    }

    /// <summary>
    /// Warm-up forwards, then one more whose peak RSS growth is returned (null where VmHWM cannot be reset):
    /// measured after the warm-up so that one-time allocations (thread pools, kernel workspaces) do not count.
    /// </summary>
    static long? WarmUp(EncoderContender contender, int count)
    {
        for (int i = 0; i < count; i++) contender.Forward();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // Without the trim, a contender would reuse heap pages the previous one freed and show no growth.
        bool canMeasure = ProcessMemory.IsAvailable && ProcessMemory.TryTrimHeap() && ProcessMemory.TryResetPeak();
        long before = canMeasure ? ProcessMemory.Read().RssBytes : 0;
        contender.Forward();
        return canMeasure ? ProcessMemory.Read().PeakBytes - before : null;
    }

    static Dictionary<EncoderContender, List<double>> Measure(List<EncoderContender> contenders, Options options)
    {
        var random = new Random(options.Seed);
        var seconds = contenders.ToDictionary(c => c, _ => new List<double>());
        for (int round = 0; round < options.Rounds; round++)
        {
            foreach (var c in contenders.OrderBy(_ => random.Next()))
            {
                var clock = Stopwatch.StartNew();
                c.Forward();
                seconds[c].Add(clock.Elapsed.TotalSeconds);
            }
        }
        return seconds;
    }

    static void Report(List<EncoderContender> contenders, Dictionary<EncoderContender, List<double>> seconds,
                       Dictionary<EncoderContender, long?> peaks, Accuracy accuracy, int batchSize)
    {
        double PerSecond(EncoderContender c) => batchSize / Median(seconds[c]);
        double ort = PerSecond(contenders[0]);

        Console.WriteLine();
        Console.WriteLine($"{"contender",-12} {"median/s",10} {"min/s",8} {"max/s",8} {"vs ORT",7} {"ms/batch",9} {"peak RSS +MB",13}");
        foreach (var c in contenders)
        {
            var perSecond = seconds[c].Select(s => batchSize / s).ToList();
            string peak = peaks[c] is long p ? (p / 1e6).ToString("F0", CultureInfo.InvariantCulture) : "n/a";
            Console.WriteLine($"{c.Name,-12} {PerSecond(c),10:F1} {perSecond.Min(),8:F1} {perSecond.Max(),8:F1} " +
                              $"{PerSecond(c) / ort,6:F2}x {1000 * Median(seconds[c]),9:F1} {peak,13}");
        }
        Console.WriteLine("(peak RSS +MB: growth of the process peak over RSS during one forward after the warm-up)");
        Console.WriteLine($"max |ours fp32 - ORT| over real tokens: {accuracy.MaxAbsDiffToOrt:E2}");
        Console.WriteLine($"bf16 vs fp32 mean-pooled cosine: mean {accuracy.MeanCosine:F5}, min {accuracy.MinCosine:F5}");
        Console.WriteLine($"load average at the end: {BenchmarkArguments.LoadAverage()} (on {Environment.ProcessorCount} CPUs; above that, other processes shared the cores)");
        Console.WriteLine();

        double fp32 = PerSecond(contenders[1]), bf16 = PerSecond(contenders[2]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT encoder-forward ours_per_s={fp32:F1} ort_per_s={ort:F1} ratio={fp32 / ort:F3} dtype=fp32 max_abs_diff={accuracy.MaxAbsDiffToOrt:E2}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT encoder-forward ours_per_s={bf16:F1} ort_per_s={ort:F1} ratio={bf16 / ort:F3} dtype=bf16 cosine_to_fp32={accuracy.MeanCosine:F5}"));
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The 1-minute load average, to tell a busy machine in the output.</summary>

    sealed record Accuracy(double MaxAbsDiffToOrt, double MeanCosine, double MinCosine)
    {
        /// <summary>Ours fp32 vs ORT over real tokens; bf16 vs fp32 on mean-pooled embeddings, computed in fp32.</summary>
        public static Accuracy Compute(TokenizedBatch batch, float[] ort, float[] fp32, float[] bf16)
        {
            long hiddenSize = fp32.Length / (batch.BatchSize * batch.SequenceLength);
            double maxDiff = 0;
            for (int b = 0; b < batch.BatchSize; b++)
                for (long i = (long)b * batch.SequenceLength * hiddenSize, end = i + batch.Length(b) * hiddenSize; i < end; i++)
                    maxDiff = Math.Max(maxDiff, Math.Abs(fp32[i] - ort[i]));

            using var scope = NewDisposeScope();
            long[] shape = { batch.BatchSize, batch.SequenceLength, hiddenSize };
            var mask = torch.tensor(batch.AttentionMask, new long[] { batch.BatchSize, batch.SequenceLength });
            var cosine = nn.functional.cosine_similarity(
                Pooling.Mean(torch.tensor(fp32, shape), mask), Pooling.Mean(torch.tensor(bf16, shape), mask), dim: 1);
            return new Accuracy(maxDiff, cosine.mean().item<float>(), cosine.min().item<float>());
        }
    }

    sealed record Options(int Rounds, int Warmup, int Seed)
    {
        public static Options Parse(string[] args)
        {
            var v = BenchmarkArguments.Ints(args, ("rounds", 15, 1), ("warmup", 3, 1), ("seed", 1, int.MinValue));
            return new Options(v["rounds"], v["warmup"], v["seed"]);
        }
    }
}
