using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Training throughput of the shared <see cref="Trainer{TBatch}"/> on all-MiniLM-L6-v2 with a 2-class head:
/// full fine-tuning vs LoRA (r=8 on query/value, head trained whole) vs frozen encoder + trained head, fp32 vs bf16 weights (fp32 masters for trainable ones).
/// Each configuration runs in a child process so its peak RSS (VmHWM) is its own. MFU = model FLOP/s divided
/// by the sustained 1024^3 matmul rate of the same dtype, measured in that same process
/// between the timed steps (see <see cref="RateBetweenSteps"/>). Each child also replays its step's matmuls alone
/// (<see cref="TrainingMatmulBound"/>): the step time no fusion could beat, and the MFU it allows.
/// Each round also runs full fp32 and LoRA bf16 in one process a step of each in turn (<see cref="AlternatingSteps"/>,
/// <c>--paired</c>), and the median over all such pairs is the speedup to quote: the two steps of a pair ran under the
/// same conditions of this shared machine, which separate processes minutes apart do not.
/// Usage: <c>train-throughput [--steps 4] [--warmup 4] [--batch 16] [--seq 128] [--rounds 1] [--method full|head|lora] [--dtype fp32|bf16] [--paired]</c>;
/// with several rounds the configurations alternate and the medians and the LoRA-bf16 / full-fp32 ratios are printed last.
/// </summary>
sealed class TrainThroughputBenchmark : IBenchmark
{
    public string Name => "train-throughput";

    public string Description => "examples/s, peak RSS and MFU of full vs LoRA vs head-only training on MiniLM, fp32 vs bf16";

    const int LoraRank = 8;  // the LoRA configuration's rank, also used by its matmul replay

    /// <summary>
    /// What each method leaves trainable. Everything else (timing, FLOPs, RESULT line) is method-agnostic, except
    /// <see cref="BackwardFactor"/> and <see cref="TrainingMatmulBound"/>, which need a row for a new method too.
    /// </summary>
    static readonly Dictionary<string, Action<nn.Module>> Methods = new()
    {
        ["full"] = model => { foreach (var p in model.parameters()) p.requires_grad = true; },
        ["head"] = model => { foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.StartsWith("classifier.", StringComparison.Ordinal); },
        // r=8 on query and value, head trained whole; applied after the bf16 cast, so the factors take the base's dtype
        // and the trainer (built from named_parameters() afterwards) sees the final parameters.
        ["lora"] = model => new Microsoft.ML.Peft.Methods.Lora.LoraOptions { Rank = LoraRank, Alpha = 16 }.Apply(model),
    };

    /// <summary>
    /// Training FLOPs per forward FLOP: full = forward + 2x for backward; LoRA = forward + 1x (input gradients through
    /// the frozen layers; the rank-8 factors' weight gradients are negligible); head-only backward is negligible.
    /// </summary>
    static double BackwardFactor(string method) => method switch { "full" => 3.0, "lora" => 2.0, _ => 1.0 };

    public void Run(string[] args)
    {
        var o = Options.Parse(args);
        if (o.Paired)
        {
            RunPaired(o);
            return;
        }
        if (o.Method is not null && o.DType is not null)
        {
            RunOne(o);
            return;
        }
        // Configurations alternate within each round, so a slow spell of this shared machine is spread over all of them;
        // the paired process of each round gives the speedup, the separate ones memory, MFU and examples/s.
        var results = new Dictionary<string, List<Dictionary<string, double>>>();
        var pairSpeedups = new List<double>();
        Console.WriteLine($"load average at start {BenchmarkArguments.LoadAverage()}");
        for (int round = 0; round < o.Rounds; round++)
        {
            foreach (string method in Methods.Keys)
                foreach (string dtype in new[] { "fp32", "bf16" })
                    if (RunChild(args, "--method", method, "--dtype", dtype) is { } output)
                        (results.TryGetValue($"{method} {dtype}", out var list) ? list : results[$"{method} {dtype}"] = new()).Add(ResultFields(output));
            if (RunChild(args, "--paired") is { } paired)
                pairSpeedups.AddRange(paired.Split('\n').Single(l => l.StartsWith(PairsPrefix, StringComparison.Ordinal))[PairsPrefix.Length..]
                                            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(x => double.Parse(x, CultureInfo.InvariantCulture)));
        }
        Console.WriteLine($"load average at end {BenchmarkArguments.LoadAverage()}");
        if (pairSpeedups.Count > 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT train-throughput paired lora_bf16_vs_full_fp32 speedup={pairSpeedups.Order().ElementAt(pairSpeedups.Count / 2):F2} " +
                $"pairs={pairSpeedups.Count} quartiles={Quantile(pairSpeedups, 0.25):F2},{Quantile(pairSpeedups, 0.75):F2} (goal: >= 4; median of the pairs of all rounds)"));
        if (o.Rounds == 1) return;
        double Median(string config, string field) =>
            results.TryGetValue(config, out var runs) ? runs.Select(r => r[field]).Order().ElementAt(runs.Count / 2) : double.NaN;
        foreach (string config in results.Keys)
        {
            string[] parts = config.Split(' ');
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT train-throughput method={parts[0]} dtype={parts[1]} examples_per_s={Median(config, "examples_per_s"):F2} " +
                $"peak_rss_mb={Median(config, "peak_rss_mb"):F0} mfu={Median(config, "mfu"):F3} rounds={results[config].Count} statistic=median"));
        }
        double speedup = Median("lora bf16", "examples_per_s") / Median("full fp32", "examples_per_s");
        double memory = Median("lora bf16", "peak_rss_mb") / Median("full fp32", "peak_rss_mb");
        // No fusion can make LoRA bf16 faster than its matmuls: this is the speedup the goal of 4 would need them to allow.
        double speedupBound = Median("full fp32", "step_ms") / Median("lora bf16", "matmul_ms");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT train-throughput lora_bf16_vs_full_fp32 speedup={speedup:F2} peak_rss_ratio={memory:F2} (goals: >= 4, <= 0.5) " +
            $"speedup_bound={speedupBound:F2} mfu_bound={Median("lora bf16", "mfu_bound"):F3}"));
        // Round by round (only when no child failed, so that the i-th runs are the same round's): two configurations of
        // one round ran minutes apart, so their ratio is less exposed to the machine's slow spells than the medians.
        if (results.TryGetValue("lora bf16", out var lora) && results.TryGetValue("full fp32", out var full) &&
            lora.Count == o.Rounds && full.Count == o.Rounds)
            Console.WriteLine("per round: " + string.Join("; ", Enumerable.Range(0, o.Rounds).Select(round => string.Create(CultureInfo.InvariantCulture,
                $"speedup {lora[round]["examples_per_s"] / full[round]["examples_per_s"]:F2} peak_rss_ratio {lora[round]["peak_rss_mb"] / full[round]["peak_rss_mb"]:F2} lora_bf16_mfu {lora[round]["mfu"]:F3}"))));
    }

    /// <summary>Runs this benchmark in a child process with <paramref name="extra"/> options added, echoes its output and returns it (null if it failed).</summary>
    static string? RunChild(string[] args, params string[] extra)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var start = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(TrainThroughputBenchmark).Assembly.Location);
        start.ArgumentList.Add("train-throughput");
        foreach (string arg in args.Concat(extra)) start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        Console.Write(output);
        if (child.ExitCode == 0) return output;
        Console.Error.WriteLine($"train-throughput {string.Join(' ', extra)} failed (exit code {child.ExitCode}).");
        return null;
    }

    /// <summary>The numeric key=value fields of the last RESULT line of <paramref name="output"/>.</summary>
    static Dictionary<string, double> ResultFields(string output) =>
        output.Split('\n').Last(l => l.StartsWith("RESULT ", StringComparison.Ordinal)).Split(' ').Select(f => f.Split('='))
              .Where(kv => kv.Length == 2 && double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
              .ToDictionary(kv => kv[0], kv => double.Parse(kv[1], CultureInfo.InvariantCulture));

    static double Quantile(IEnumerable<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Round(q * (sorted.Count - 1))];
    }

    const string PairsPrefix = "PAIRS lora_bf16_vs_full_fp32 ";

    /// <summary>
    /// Full fine-tuning in fp32 and LoRA over a bf16 base in one process, a step of each in turn (<see cref="AlternatingSteps"/>):
    /// prints each timed pair's speedup (LoRA examples/s over full examples/s) on a <see cref="PairsPrefix"/> line.
    /// </summary>
    static void RunPaired(Options o)
    {
        var (full, lora) = AlternatingSteps.Fit(progress => TrainingSetup.Create(Methods["full"], "fp32", o.Batch, o.Seq, progress),
                                                progress => TrainingSetup.Create(Methods["lora"], "bf16", o.Batch, o.Seq, progress),
                                                o.Warmup + o.Steps);
        var pairs = full.History.Steps.Zip(lora.History.Steps).Skip(o.Warmup)
                        .Select(p => p.Second.ExamplesPerSecond / p.First.ExamplesPerSecond).ToList();
        string ExamplesPerSecond(TrainingResult r) =>
            string.Join(' ', r.History.Steps.Skip(o.Warmup).Select(s => s.ExamplesPerSecond.ToString("F1", CultureInfo.InvariantCulture)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"paired: full fp32 and LoRA bf16 steps in turn, {pairs.Count} timed pairs, speedup per pair {string.Join(' ', pairs.Select(p => p.ToString("F2", CultureInfo.InvariantCulture)))}; " +
            $"examples/s full fp32 {ExamplesPerSecond(full)}, LoRA bf16 {ExamplesPerSecond(lora)}"));
        Console.WriteLine(PairsPrefix + string.Join(' ', pairs.Select(p => p.ToString("R", CultureInfo.InvariantCulture))));
    }

    static void RunOne(Options o)
    {
        // The JIT's work during the timed steps: tiered recompilation runs on a thread of its own and takes a core from
        // libtorch's two, so it must be over before the timing starts to measure the steady state.
        int lossCalls = 0;
        TimeSpan jitBeforeTimed = default;
        long methodsBeforeTimed = 0;
        var rate = new RateBetweenSteps(TrainingSetup.TypeOf(o.DType!), o.Warmup);
        var setup = TrainingSetup.Create(Methods[o.Method!], o.DType!, o.Batch, o.Seq, rate, () =>
        {
            if (lossCalls++ == o.Warmup) (jitBeforeTimed, methodsBeforeTimed) = (JitInfo.GetCompilationTime(), JitInfo.GetCompiledMethodCount());
        });
        var (type, config, trainer) = (setup.Type, setup.Model.Encoder.Config, setup.Trainer);
        var beforeTraining = MemoryReport.Current();
        var result = setup.Fit(o.Warmup + o.Steps);

        double jitMs = (JitInfo.GetCompilationTime() - jitBeforeTimed).TotalMilliseconds;
        long jitMethods = JitInfo.GetCompiledMethodCount() - methodsBeforeTimed;
        var timed = result.History.Steps.Skip(o.Warmup).ToList();
        double examplesPerSecond = timed.Count * o.Batch / timed.Sum(s => o.Batch / s.ExamplesPerSecond);  // examples / seconds
        double flopsPerExample = ForwardFlopsPerExample(config, o.Seq) * BackwardFactor(o.Method!);
        double peakRss = MemoryReport.Current().PeakResidentMb;
        double stepSeconds = o.Batch / examplesPerSecond;
        double matmulSeconds = TrainingMatmulBound.StepSeconds(config, o.Batch, o.Seq, o.Method!, type, LoraRank);
        // This VM's matmul rate drifts by 2-3x within minutes (AMX above all), so the reference rate is the one measured
        // between the timed steps, under the same conditions as they ran.
        double peak = rate.Median;
        double mfu = examplesPerSecond * flopsPerExample / peak;
        double mfuBound = matmulSeconds > 0 ? o.Batch * flopsPerExample / matmulSeconds / peak : double.NaN;
        Console.WriteLine($"{o.Method,-5} {o.DType}: {trainer.Summary}");
        Console.WriteLine($"  {examplesPerSecond:F2} examples/s, {examplesPerSecond * flopsPerExample / 1e9:F1} GFLOP/s of " +
                          $"{peak / 1e9:F0} GFLOP/s sustained matmul rate (median of {rate.Count} runs between the timed steps), peak RSS {peakRss:F0} MiB (before training: {beforeTraining.ResidentMb:F0} MiB resident, peak {beforeTraining.PeakResidentMb:F0}), loss {timed.Last().Loss:F4}, heap trims {result.History.HeapTrims}");
        Console.WriteLine($"  JIT during the timed steps: {jitMs:F0} ms compiling {jitMethods} methods");
        if (matmulSeconds > 0)
            Console.WriteLine($"  its matmuls alone (replayed at the same shapes): {matmulSeconds * 1e3:F1} ms of the {stepSeconds * 1e3:F1} ms step, so MFU cannot exceed {mfuBound:F3} here");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT train-throughput method={o.Method} dtype={o.DType} examples_per_s={examplesPerSecond:F2} peak_rss_mb={peakRss:F0} mfu={mfu:F3} " +
            $"step_ms={stepSeconds * 1e3:F1} matmul_ms={matmulSeconds * 1e3:F1} mfu_bound={mfuBound:F3} jit_ms={jitMs:F0}"));
    }

    /// <summary>
    /// Matmul FLOPs of one example's forward pass: the linear layers (2 x weights x tokens) plus attention scores and
    /// mixing. The classifier reads one position, so the last layer computes its keys and values for every token and the
    /// rest (query, output dense, FFN, attention) for that one position (BertEncoder's firstTokenOnly).
    /// </summary>
    static double ForwardFlopsPerExample(BertConfig c, int seq)
    {
        double h = c.HiddenSize, ffn = c.IntermediateSize;
        double Layer(int queries) =>
            2 * (h * h) * 2 * seq                          // key and value projections
            + (2 * h * h + 2 * h * ffn) * 2 * queries     // query, output dense, FFN up and down
            + 2 * (2.0 * queries * seq * h);              // scores and mixing
        return (c.NumHiddenLayers - 1) * Layer(seq) + Layer(1);
    }

    sealed record Options(int Steps, int Warmup, int Batch, int Seq, int Rounds, string? Method, string? DType, bool Paired = false)
    {
        public static Options Parse(string[] args)
        {
            var o = new Options(4, 4, 16, 128, 1, null, null);  // 4 untimed steps: the heap guard calibrates over 3 and may trim once
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                o = args[i] switch
                {
                    "--steps" => o with { Steps = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--warmup" => o with { Warmup = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--batch" => o with { Batch = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--seq" => o with { Seq = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--rounds" => o with { Rounds = Math.Max(1, int.Parse(Next(), CultureInfo.InvariantCulture)) },
                    "--method" => o with { Method = Methods.ContainsKey(args[i + 1]) ? Next() : throw new ArgumentException($"--method must be one of {string.Join(", ", Methods.Keys)}.") },
                    "--paired" => o with { Paired = true },
                    "--dtype" => o with { DType = args[i + 1] is "fp32" or "bf16" ? Next() : throw new ArgumentException("--dtype must be fp32 or bf16.") },
                    _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
                };
            }
            return o;
        }
    }
}
