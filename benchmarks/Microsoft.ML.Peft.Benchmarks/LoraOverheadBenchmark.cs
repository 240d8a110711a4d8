using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Onnx;
using Microsoft.ML.Peft.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// What LoRA costs on the real all-MiniLM-L6-v2, batch 16 x 128 tokens: (a) one forward + backward (loss = mean of
/// the last hidden state) with LoRA r 8 on query/value against full fine-tuning (every parameter trainable), both in
/// train mode; (b) one inference forward (<c>no_grad</c>, eval) of the base encoder, the unmerged LoRA encoder (hook
/// adds B A x) and the merged one (<see cref="LoraModel.MergeAndUnload"/>). Contenders run in a fresh random order
/// every round; medians are reported.
/// Usage: <c>lora-overhead [--rounds 9] [--train-rounds 5] [--warmup 2] [--seed 1]</c>.
/// Goals: unmerged / base below 1.10, merged / base about 1.00.
/// </summary>
sealed class LoraOverheadBenchmark : IBenchmark
{
    const int BatchSize = 16, SequenceLength = 128;

    public string Name => "lora-overhead";

    public string Description => "LoRA r8 q/v vs full fine-tuning (fwd+bwd), base vs unmerged vs merged LoRA (inference), MiniLM 16 x 128";

    public void Run(string[] args)
    {
        var options = Options.Parse(args);
        torch.set_num_threads(Environment.ProcessorCount);
        string folder = MiniLmL6V2.EnsureDownloaded();
        var pretrained = PretrainedModel.FromDirectory(folder);
        var batch = pretrained.Tokenizer.EncodeBatch(EncoderForwardSentences.All.Take(BatchSize).ToList(), maxLength: SequenceLength, padding: PaddingMode.MaxLength);
        using var tensors = batch.ToTensors();
        var loraOptions = new LoraOptions { Rank = 8, Alpha = 16, TargetModules = TargetModules.Of("query", "value") };

        Console.WriteLine($"lora-overhead: all-MiniLM-L6-v2, batch {batch.BatchSize} x {batch.SequenceLength}, LoRA r 8 alpha 16 on query/value, " +
                          $"torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} CPUs, load average {BenchmarkArguments.LoadAverage()}");

        // (a) training step cost: forward + backward.
        var full = pretrained.LoadEncoder();
        full.train();
        foreach (var p in full.parameters()) p.requires_grad = true;
        var loraTrain = pretrained.LoadEncoder();
        var loraTrainModel = LoraModel.Create(loraTrain, loraOptions);
        loraTrain.train();
        Console.WriteLine($"LoRA trainable: {loraTrainModel.TrainableParameters()}");
        var train = new Dictionary<string, Action>
        {
            ["full fine-tuning"] = () => Step(full, tensors),
            ["LoRA r8 q/v"] = () => Step(loraTrain, tensors),
        };
        var trainTimes = Measure(train, options.Warmup, options.TrainRounds, options.Seed);
        full.Dispose();
        loraTrain.Dispose();

        // (b) inference: base, unmerged LoRA, merged LoRA.
        var baseEncoder = pretrained.LoadEncoder();
        var unmergedEncoder = pretrained.LoadEncoder();
        LoraModel.Create(unmergedEncoder, loraOptions);
        RandomizeB(unmergedEncoder);
        var mergedSource = pretrained.LoadEncoder();
        var mergedLora = LoraModel.Create(mergedSource, loraOptions);
        RandomizeB(mergedSource);
        var mergedEncoder = (BertModel)mergedLora.MergeAndUnload();
        foreach (var m in new[] { baseEncoder, unmergedEncoder, mergedEncoder }) m.eval();
        var inference = new Dictionary<string, Action>
        {
            ["base"] = () => Forward(baseEncoder, tensors),
            ["LoRA unmerged"] = () => Forward(unmergedEncoder, tensors),
            ["LoRA merged"] = () => Forward(mergedEncoder, tensors),
        };
        var inferTimes = Measure(inference, options.Warmup, options.Rounds, options.Seed + 1);

        Console.WriteLine();
        Console.WriteLine($"{"phase",-10} {"contender",-18} {"median ms",10} {"min ms",8} {"max ms",8} {"vs ref",7}");
        void Rows(string phase, Dictionary<string, List<double>> times, string reference)
        {
            double refMedian = Median(times[reference]);
            foreach (var (name, t) in times)
                Console.WriteLine($"{phase,-10} {name,-18} {1000 * Median(t),10:F1} {1000 * t.Min(),8:F1} {1000 * t.Max(),8:F1} {Median(t) / refMedian,6:F3}x");
        }
        Rows("fwd+bwd", trainTimes, "full fine-tuning");
        Rows("inference", inferTimes, "base");
        Console.WriteLine($"load average at the end: {BenchmarkArguments.LoadAverage()} (on {Environment.ProcessorCount} CPUs)");
        Console.WriteLine();

        double unmergedRatio = Median(inferTimes["LoRA unmerged"]) / Median(inferTimes["base"]);
        double mergedRatio = Median(inferTimes["LoRA merged"]) / Median(inferTimes["base"]);
        double trainRatio = Median(trainTimes["LoRA r8 q/v"]) / Median(trainTimes["full fine-tuning"]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT lora-overhead unmerged_ratio={unmergedRatio:F3} merged_ratio={mergedRatio:F3} train_lora_vs_full={trainRatio:F3}"));
        baseEncoder.Dispose();
        unmergedEncoder.Dispose();
        mergedEncoder.Dispose();
    }

    static void Step(BertModel encoder, TokenizedTensors t)
    {
        using var scope = NewDisposeScope();
        encoder.zero_grad();
        var loss = encoder.forward(t.InputIds, t.AttentionMask, t.TokenTypeIds).LastHiddenState.mean();
        loss.backward();
    }

    static void Forward(BertModel encoder, TokenizedTensors t)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        encoder.forward(t.InputIds, t.AttentionMask, t.TokenTypeIds);
    }

    /// <summary>Non-zero B, so the unmerged hook and the merged weights carry a real update.</summary>
    static void RandomizeB(nn.Module model)
    {
        using var generator = new Generator(7);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.Contains(".lora_B.", StringComparison.Ordinal)) p.normal_(0, 0.01, generator);
    }

    static Dictionary<string, List<double>> Measure(Dictionary<string, Action> contenders, int warmup, int rounds, int seed)
    {
        foreach (var run in contenders.Values) for (int i = 0; i < warmup; i++) run();
        var random = new Random(seed);
        var seconds = contenders.Keys.ToDictionary(k => k, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
            foreach (var (name, run) in contenders.OrderBy(_ => random.Next()))
            {
                var clock = Stopwatch.StartNew();
                run();
                seconds[name].Add(clock.Elapsed.TotalSeconds);
            }
        return seconds;
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }


    sealed record Options(int Rounds, int TrainRounds, int Warmup, int Seed)
    {
        public static Options Parse(string[] args)
        {
            var v = BenchmarkArguments.Ints(args, ("rounds", 9, 1), ("train-rounds", 5, 1), ("warmup", 2, 1), ("seed", 1, int.MinValue));
            return new Options(v["rounds"], v["train-rounds"], v["warmup"], v["seed"]);
        }
    }
}
