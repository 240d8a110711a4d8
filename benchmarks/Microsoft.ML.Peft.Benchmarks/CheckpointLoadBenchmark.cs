using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Peft.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Peak memory and speed of loading a ~500 MB fp32 checkpoint into a stack of Linear layers. The goal is a
/// peak growth of about 1x the file (the module's own parameters), not 2x (a second copy while loading).
/// Usage: <c>checkpoint-load [--mb 500] [--shard-mb 0] [--hidden 2048] [--keep]</c>.
/// </summary>
sealed class CheckpointLoadBenchmark : IBenchmark
{
    const double MB = 1e6;

    public string Name => "checkpoint-load";

    public string Description => "peak RSS growth and speed of StateDictLoader on a synthetic ~500 MB fp32 checkpoint";

    public void Run(string[] args)
    {
        var options = Options.Parse(args);
        if (options.WriteTo is string target)
        {
            WriteCheckpoint(target, options);
            return;
        }
        if (!ProcessMemory.IsAvailable)
        {
            Console.Error.WriteLine("checkpoint-load reads /proc/self/status and needs Linux.");
            Environment.Exit(1);
        }

        string folder = Path.Combine(Path.GetTempPath(), "peft-checkpoint-load-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // The checkpoint is written by a child process so that this process's peak (VmHWM) only sees the load.
            WriteInChildProcess(folder, args);
            long fileBytes = Directory.GetFiles(folder, "*.safetensors").Sum(f => new FileInfo(f).Length);
            Measure(folder, fileBytes, options);
        }
        finally
        {
            if (!options.Keep && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            else if (options.Keep) Console.WriteLine($"checkpoint kept in {folder}");
        }
    }

    static void Measure(string folder, long fileBytes, Options options)
    {
        WarmUp(folder);
        var before = ProcessMemory.Read();
        using var module = BuildModule(options, seed: 2);
        var created = ProcessMemory.Read();

        var clock = Stopwatch.StartNew();
        var report = StateDictLoader.Load(module, folder);
        clock.Stop();
        var loaded = ProcessMemory.Read();

        double fileMb = fileBytes / MB;
        double rssGrowth = (loaded.RssBytes - before.RssBytes) / MB;
        double peakGrowth = (loaded.PeakBytes - before.RssBytes) / MB;
        double loadPeakOverModule = (loaded.PeakBytes - Math.Max(created.RssBytes, created.PeakBytes)) / MB;
        double seconds = clock.Elapsed.TotalSeconds;

        Verify(module, folder);
        Console.WriteLine();
        Console.WriteLine($"checkpoint-load: {report}");
        Row("checkpoint files", $"{fileMb,10:F1} MB", $"{Directory.GetFiles(folder, "*.safetensors").Length} file(s) in {folder}");
        Row("RSS before module", $"{before.RssBytes / MB,10:F1} MB", $"peak so far {before.PeakBytes / MB:F1} MB");
        Row("RSS after create", $"{created.RssBytes / MB,10:F1} MB", $"+{(created.RssBytes - before.RssBytes) / MB:F1} MB of parameters");
        Row("RSS after load", $"{loaded.RssBytes / MB,10:F1} MB", $"peak {loaded.PeakBytes / MB:F1} MB");
        Row("RSS growth", $"{rssGrowth,10:F1} MB", $"{rssGrowth / fileMb:F2}x the file");
        Row("peak growth", $"{peakGrowth,10:F1} MB", $"{peakGrowth / fileMb:F2}x the file (goal: about 1x)");
        Row("load peak over module", $"{Math.Max(0, loadPeakOverModule),10:F1} MB", "extra memory the load itself needed at its peak");
        Row("load time", $"{seconds,10:F2} s", $"{fileMb / seconds:F0} MB/s (file in the page cache: this is memory speed)");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT checkpoint-load file_mb={fileMb:F1} peak_growth_mb={peakGrowth:F1} ratio={peakGrowth / fileMb:F3} seconds={seconds:F3}"));
    }

    /// <summary>
    /// Loads libtorch (over 100 MB of code, mapped on the first tensor call) and JITs the load path first, so the
    /// figures count tensor memory and not the runtime starting up.
    /// </summary>
    static void WarmUp(string folder)
    {
        using (var scope = NewDisposeScope())
        using (var warm = nn.Sequential(("0", nn.Linear(8, 8))))
        {
            using var checkpoint = SafeTensorsCheckpoint.Open(folder);
            string key = checkpoint.Keys.First(k => checkpoint.GetEntry(k).Shape.Count == 1);
            checkpoint.ReadInto(key, empty(checkpoint.GetEntry(key).Shape.ToArray()));
            warm.forward(ones(1, 8));
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    static void Row(string what, string value, string note) => Console.WriteLine($"  {what,-24}{value}   {note}");

    /// <summary>Spot-checks that the loaded module equals the file, so a fast but wrong load cannot pass.</summary>
    static void Verify(nn.Module module, string folder)
    {
        using var scope = NewDisposeScope();
        using var checkpoint = SafeTensorsCheckpoint.Open(folder);
        var state = module.state_dict();
        foreach (string key in new[] { checkpoint.Keys[0], checkpoint.Keys[^1] })
            if (!checkpoint.ReadTensor(key).eq(state[key]).all().item<bool>())
                throw new InvalidOperationException($"Loaded tensor '{key}' differs from the checkpoint.");
    }

    static nn.Module BuildModule(Options options, int seed)
    {
        manual_seed(seed);
        var layers = Enumerable.Range(0, options.Layers)
            .Select(i => ($"{i}", (nn.Module<Tensor, Tensor>)nn.Linear(options.Hidden, options.Hidden)))
            .ToArray();
        return nn.Sequential(layers);
    }

    static void WriteCheckpoint(string folder, Options options)
    {
        using var module = BuildModule(options, seed: 1);
        long? shardBytes = options.ShardMb > 0 ? (long)(options.ShardMb * MB) : null;
        SafeTensorsCheckpoint.Save(folder, module.state_dict(), shardBytes);
    }

    static void WriteInChildProcess(string folder, string[] args)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var start = new ProcessStartInfo(self) { UseShellExecute = false };
        // Run as "dotnet app.dll", the host is dotnet and the app is this assembly.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(CheckpointLoadBenchmark).Assembly.Location);
        start.ArgumentList.Add("checkpoint-load");
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.ArgumentList.Add("--write");
        start.ArgumentList.Add(folder);

        var clock = Stopwatch.StartNew();
        using var child = Process.Start(start)!;
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"Writing the checkpoint failed (exit code {child.ExitCode}).");
        Console.WriteLine($"wrote the synthetic checkpoint in {clock.Elapsed.TotalSeconds:F1} s (child process)");
    }

    sealed record Options(double Mb, double ShardMb, int Hidden, bool Keep, string? WriteTo)
    {
        /// <summary>Linear layers of hidden x hidden weights plus bias, enough to reach <see cref="Mb"/>.</summary>
        public int Layers => Math.Max(1, (int)Math.Round(Mb * MB / ((double)Hidden * (Hidden + 1) * sizeof(float))));

        public static Options Parse(string[] args)
        {
            var options = new Options(500, 0, 2048, false, null);
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                options = args[i] switch
                {
                    "--mb" => options with { Mb = double.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--shard-mb" => options with { ShardMb = double.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--hidden" => options with { Hidden = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--keep" => options with { Keep = true },
                    "--write" => options with { WriteTo = Next() },
                    _ => throw new ArgumentException($"Unknown option '{args[i]}'. Options: --mb N, --shard-mb N, --hidden N, --keep."),
                };
            }
            return options;
        }
    }
}
