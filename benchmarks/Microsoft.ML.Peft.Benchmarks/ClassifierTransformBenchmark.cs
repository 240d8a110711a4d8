using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Onnx;
using Microsoft.ML.Peft.Tasks.TextClassification;
using Microsoft.ML.Peft.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Scoring throughput of a fitted LoRA text classifier on all-MiniLM-L6-v2: <c>Transform</c> (rows read back through
/// <c>CreateEnumerable</c>, so tokenization and the ML.NET plumbing count) against the bare base encoder's forward on the
/// same texts (tokenized in the same batches of 32, longest padding, max length 128, <c>no_grad</c>; its last block for
/// the first position only, as the classifiers compute it since 2026-11-30), and against the
/// merged classifier (<c>ExportMergedModel</c>, reloaded with <c>LoadSequenceClassifier</c>, tokenize + logits). The
/// classifier is fitted quickly (32 rows, 1 epoch), as only its shape matters. Contenders interleave per round; medians.
/// Usage: <c>classifier-transform [--rows 256] [--rounds 5] [--seed 1]</c>.
/// </summary>
sealed class ClassifierTransformBenchmark : IBenchmark
{
    const int BatchSize = 32, MaxLength = 128;

    public string Name => "classifier-transform";

    public string Description => "rows/s of a fitted LoRA classifier's Transform vs the base encoder forward and the merged model, MiniLM";

    sealed class Row
    {
        public string Label { get; set; } = "";
        public string Text { get; set; } = "";
    }

    sealed class Scored
    {
        public float[] Score { get; set; } = [];
    }

    public void Run(string[] args)
    {
        var options = Options.Parse(args);
        torch.set_num_threads(Environment.ProcessorCount);
        string folder = MiniLmL6V2.EnsureDownloaded();
        var pretrained = PretrainedModel.FromDirectory(folder);
        var sentences = EncoderForwardSentences.All;
        var texts = Enumerable.Range(0, options.Rows).Select(i => $"{sentences[i % sentences.Length]} (item {i})").ToArray();

        var ml = new MLContext(seed: options.Seed);
        var trainRows = texts.Take(32).Select((t, i) => new Row { Label = i % 2 == 0 ? "even" : "odd", Text = t }).ToList();
        var clock = Stopwatch.StartNew();
        var chain = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Peft().LoraTextClassifier(pretrained, rank: 8, alpha: 16, maxEpochs: 1, batchSize: 16))
            .Fit(ml.Data.LoadFromEnumerable(trainRows));
        var classifier = chain.LastTransformer;
        Console.WriteLine($"classifier-transform: all-MiniLM-L6-v2, LoRA r 8 fitted on 32 rows x 1 epoch in {clock.Elapsed.TotalSeconds:F1} s; " +
                          $"{options.Rows} rows, batch {BatchSize}, max length {MaxLength}, torch threads {torch.get_num_threads()}, " +
                          $"{Environment.ProcessorCount} CPUs, load average {BenchmarkArguments.LoadAverage()}");

        var scoringRows = ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t }).ToList());
        string mergedFolder = Path.Combine(Path.GetTempPath(), "classifier-transform-merged-" + Guid.NewGuid().ToString("N"));
        var encoder = pretrained.LoadEncoder();
        encoder.eval();
        nn.Module? merged = null;
        try
        {
            classifier.ExportMergedModel(mergedFolder);
            var mergedPretrained = PretrainedModel.FromDirectory(mergedFolder);
            merged = mergedPretrained.LoadSequenceClassifier(2);
            merged.eval();

            var contenders = new Dictionary<string, Action>
            {
                ["Transform (LoRA)"] = () =>
                {
                    int n = ml.Data.CreateEnumerable<Scored>(classifier.Transform(scoringRows), reuseRowObject: true).Count();
                    if (n != texts.Length) throw new InvalidOperationException($"Transform gave {n} rows.");
                },
                ["base encoder"] = () => Batches(texts, batch =>
                {
                    var (ids, mask, types) = pretrained.Tokenizer.EncodeBatch(batch, maxLength: MaxLength, padding: PaddingMode.Longest).ToTensors();
                    encoder.forward(ids, mask, types, firstTokenOnly: true);  // what the classifier's head reads, as in the others
                }),
                ["merged classifier"] = () => Batches(texts, batch =>
                {
                    var (ids, mask, types) = mergedPretrained.Tokenizer.EncodeBatch(batch, maxLength: MaxLength, padding: PaddingMode.Longest).ToTensors();
                    ((ISequenceClassifier)merged).Logits(ids, mask, types);
                }),
            };
            foreach (var run in contenders.Values) run();  // warm-up
            var random = new Random(options.Seed);
            var seconds = contenders.Keys.ToDictionary(k => k, _ => new List<double>());
            for (int round = 0; round < options.Rounds; round++)
                foreach (var (name, run) in contenders.OrderBy(_ => random.Next()))
                {
                    clock.Restart();
                    run();
                    seconds[name].Add(clock.Elapsed.TotalSeconds);
                }

            double RowsPerSecond(string name) => texts.Length / Median(seconds[name]);
            double baseRate = RowsPerSecond("base encoder");
            Console.WriteLine();
            Console.WriteLine($"{"contender",-20} {"median rows/s",14} {"min",8} {"max",8} {"vs encoder",11}");
            foreach (var (name, t) in seconds)
                Console.WriteLine($"{name,-20} {RowsPerSecond(name),14:F1} {texts.Length / t.Max(),8:F1} {texts.Length / t.Min(),8:F1} {RowsPerSecond(name) / baseRate,10:F3}x");
            Console.WriteLine($"load average at the end: {BenchmarkArguments.LoadAverage()} (on {Environment.ProcessorCount} CPUs)");
            Console.WriteLine();
            double rate = RowsPerSecond("Transform (LoRA)"), mergedRate = RowsPerSecond("merged classifier");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT classifier-transform rows_per_s={rate:F1} encoder_rows_per_s={baseRate:F1} ratio={rate / baseRate:F3} merged_ratio={mergedRate / baseRate:F3}"));
        }
        finally
        {
            merged?.Dispose();
            encoder.Dispose();
            (classifier as IDisposable)?.Dispose();
            if (Directory.Exists(mergedFolder)) Directory.Delete(mergedFolder, recursive: true);
        }
    }

    static void Batches(string[] texts, Action<string[]> forward)
    {
        for (int start = 0; start < texts.Length; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            forward(texts.Skip(start).Take(BatchSize).ToArray());
        }
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }


    sealed record Options(int Rows, int Rounds, int Seed)
    {
        public static Options Parse(string[] args)
        {
            var v = BenchmarkArguments.Ints(args, ("rows", 256, 32), ("rounds", 5, 1), ("seed", 1, int.MinValue));
            return new Options(v["rows"], v["rounds"], v["seed"]);
        }
    }
}
