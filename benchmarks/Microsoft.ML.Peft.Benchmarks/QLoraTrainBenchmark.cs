using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Onnx;
using Microsoft.ML.Peft.Quantization;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// QLoRA vs LoRA on all-MiniLM-L6-v2 + 2-class head, batch 16 x sequence 128: peak RSS (VmHWM) of a few AdamW steps,
/// mean step time, and the bytes of the frozen encoder linear weights (fp32 for LoRA; NF4 codes + double-quantized
/// scales for QLoRA). Also the peak RSS of loading the classifier in full precision vs straight into 4-bit.
/// Each configuration runs in its own child process, so each peak is its own.
/// Usage: <c>qlora-train [--steps 3] [--warmup 1] [--batch 16] [--seq 128] [--method lora|qlora|load-fp32|load-nf4]</c>.
/// </summary>
sealed class QLoraTrainBenchmark : IBenchmark
{
    static readonly string[] AllMethods = { "load-fp32", "load-nf4", "lora", "qlora" };

    public string Name => "qlora-train";

    public string Description => "peak RSS, step time and frozen bytes of QLoRA vs LoRA training on MiniLM; peak RSS of fp32 vs straight-to-4-bit loading";

    public void Run(string[] args)
    {
        var o = Options.Parse(args);
        if (o.Method is not null)
        {
            if (o.Method.StartsWith("load-", StringComparison.Ordinal)) RunLoad(o.Method);
            else RunTraining(o);
            return;
        }
        foreach (string method in AllMethods) RunChild(args, method);
    }

    static void RunChild(string[] args, string method)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var start = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(QLoraTrainBenchmark).Assembly.Location);
        start.ArgumentList.Add("qlora-train");
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.ArgumentList.Add("--method");
        start.ArgumentList.Add(method);
        using var child = Process.Start(start)!;
        child.WaitForExit();
        if (child.ExitCode != 0) Console.Error.WriteLine($"method={method} failed (exit code {child.ExitCode}).");
    }

    /// <summary>Loads the classifier only: the peak is the loading peak (the folder is prepared before the peak is reset).</summary>
    static void RunLoad(string method)
    {
        var pretrained = PretrainedModel.FromDirectory(MiniLmL6V2.EnsureDownloaded());
        ProcessMemory.TryTrimHeap();
        ProcessMemory.TryResetPeak();
        var before = ProcessMemory.Read();
        var clock = Stopwatch.StartNew();
        var model = pretrained.LoadSequenceClassifier(2, quantization: method == "load-nf4" ? new QuantizationOptions() : null);
        double seconds = clock.Elapsed.TotalSeconds;
        var after = ProcessMemory.Read();
        ProcessMemory.TryTrimHeap();  // what the model really holds, once the allocator returns freed pages
        var trimmed = ProcessMemory.Read();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT qlora-train method={method} peak_rss_mb={after.PeakBytes / 1048576.0:F0} rss_mb={after.RssBytes / 1048576.0:F0} " +
            $"trimmed_rss_mb={trimmed.RssBytes / 1048576.0:F0} before_mb={before.RssBytes / 1048576.0:F0} seconds={seconds:F2} frozen_mb={FrozenMb(model):F2}"));
    }

    static void RunTraining(Options o)
    {
        var model = (BertForSequenceClassification)PretrainedModel.FromDirectory(MiniLmL6V2.EnsureDownloaded()).LoadSequenceClassifier(2);
        var lora = new LoraOptions { Rank = 8, Alpha = 16 };
        IPeftMethodOptions method = o.Method == "qlora" ? new QLoraOptions { Lora = lora } : lora;
        var peft = method.Apply(model);
        double frozenMb = FrozenMb(model);
        model.train();

        random.manual_seed(0);
        var config = model.Encoder.Config;
        using var ids = randint(1000, config.VocabSize, new long[] { o.Batch, o.Seq });
        using var mask = ones(o.Batch, o.Seq, dtype: ScalarType.Int64);
        using var labels = randint(0, 2, new long[] { o.Batch });
        var optimizer = optim.AdamW(peft.TrainableParameterList(), lr: 2e-4);
        var times = new List<double>();
        float loss = 0;
        for (int step = 0; step < o.Warmup + o.Steps; step++)
        {
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                var l = nn.functional.cross_entropy(model.Logits(ids, mask), labels);
                l.backward();
                optimizer.step();
                loss = l.item<float>();
            }
            if (step >= o.Warmup) times.Add(clock.Elapsed.TotalSeconds);
        }
        double peakMb = ProcessMemory.Read().PeakBytes / 1048576.0;
        Console.WriteLine($"{o.Method}: {peft.TrainableParameters()}, loss {loss:F4}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT qlora-train method={o.Method} peak_rss_mb={peakMb:F0} step_seconds={times.Average():F3} frozen_mb={frozenMb:F2}"));
    }

    /// <summary>MB held by the frozen encoder linear weights: NF4 state where quantized, else the fp32 weights QLoRA would quantize.</summary>
    static double FrozenMb(nn.Module model)
    {
        long quantized = BaseQuantizer.FrozenBytes(model);
        long full = BaseQuantizer.LayersToQuantize(model)
            .Sum(name => ((TorchSharp.Modules.Linear)Core.ModuleSurgery.Find(model, name)).weight!.numel() * 4L);
        return (quantized + full) / 1e6;
    }

    sealed record Options(int Steps, int Warmup, int Batch, int Seq, string? Method)
    {
        public static Options Parse(string[] args)
        {
            var o = new Options(3, 1, 16, 128, null);
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                o = args[i] switch
                {
                    "--steps" => o with { Steps = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--warmup" => o with { Warmup = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--batch" => o with { Batch = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--seq" => o with { Seq = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--method" => o with { Method = AllMethods.Contains(args[i + 1]) ? Next() : throw new ArgumentException($"--method must be one of {string.Join(", ", AllMethods)}.") },
                    _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
                };
            }
            return o;
        }
    }
}
