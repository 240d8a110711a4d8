using System.Globalization;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.Lora;
using TorchSharp;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Throughput of the shipped decoder (<c>samples/Generation/Model</c>, a 3.4M-parameter GPT-2 with byte-level BPE):
/// (a) greedy decoding tokens/s with the KV cache against recomputing the whole sequence every step, batch 1 and a
/// left-padded batch of 8 short prompts; (b) fine-tuning tokens/s (forward + backward + AdamW step through the
/// shared <c>Trainer</c>) with LoRA (r 8, alpha 16, default targets) against full fine-tuning, fp32, and
/// the same with a bf16 base (fp32 masters; <c>--bf16 0</c> leaves it out). Contenders of a phase are interleaved per round; medians are reported.
/// Usage: <c>generation-throughput [--rounds 9] [--train-rounds 7] [--warmup 1] [--new-tokens 64] [--batch 8] [--seq 128] [--train-steps 2] [--bf16 1|0] [--threads 0 (all CPUs)]</c>.
/// </summary>
sealed class GenerationThroughputBenchmark : IBenchmark
{
    public string Name => "generation-throughput";

    public string Description => "shipped GPT-2 decoder: greedy tokens/s with vs without KV cache (batch 1, 8); training tokens/s LoRA vs full";

    public void Run(string[] args)
    {
        var o = BenchmarkArguments.Ints(args, ("rounds", 9, 1), ("train-rounds", 7, 1), ("warmup", 1, 0), ("new-tokens", 64, 1),
                                        ("batch", 8, 1), ("seq", 128, 2), ("train-steps", 2, 1), ("bf16", 1, 0), ("threads", 0, 0));
        // 0: one Torch thread per CPU. On a crowded machine fewer threads can be faster: a parallel region waits
        // for its slowest thread, and a descheduled thread stalls the others.
        torch.set_num_threads(o["threads"] > 0 ? o["threads"] : Environment.ProcessorCount);
        string folder = ShippedDecoder.Folder();
        var decoder = PretrainedDecoder.FromDirectory(folder);
        var config = decoder.Gpt2Config!;
        string startLoad = BenchmarkArguments.LoadAverage();
        Console.WriteLine($"generation-throughput: {folder} (GPT-2, {config.NLayer} layers, n_embd {config.NEmbd}, vocab {config.VocabSize}), " +
                          $"torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} CPUs, load average {startLoad}");

        var decode = Decode(decoder, o);
        var train = Train(decoder, o);
        string endLoad = BenchmarkArguments.LoadAverage();
        Console.WriteLine($"load average: {startLoad} at start, {endLoad} at end (on {Environment.ProcessorCount} CPUs)");
        Console.WriteLine();
        foreach (var line in decode.Concat(train)) Console.WriteLine(line);
        Console.WriteLine(Invariant($"RESULT generation-throughput load_start={startLoad} load_end={endLoad}"));
    }

    // (a) Decoding: per batch size, cache and no cache interleaved in one set of rounds with the other batch size.
    static List<string> Decode(PretrainedDecoder decoder, IReadOnlyDictionary<string, int> o)
    {
        var model = decoder.LoadModel();
        var generator = new Generation.TextGenerator(model, decoder.Tokenizer);
        var prompts = ShippedDecoder.Prompts.Select(p => decoder.Tokenizer.EncodeToIds(p)).ToList();
        var contenders = new List<(string Name, DecodeContender Contender)>();
        foreach (int batch in new[] { 1, 8 })
            foreach (bool cache in new[] { true, false })
                contenders.Add(($"batch{batch}-{(cache ? "cache" : "nocache")}", new DecodeContender(generator, prompts.Take(batch).ToList(), o["new-tokens"], cache)));
        Console.WriteLine($"decode: greedy, {o["new-tokens"]} new tokens, prompts of {string.Join("/", prompts.Select(p => p.Count))} tokens (batch 1: the first), " +
                          $"{o["warmup"]} warm-up + {o["rounds"]} rounds");
        var seconds = InterleavedRounds.Measure(contenders.Select(c => (c.Name, (Func<double>)c.Contender.Run)).ToList(), o["warmup"], o["rounds"]);
        ((TorchSharp.torch.nn.Module)model).Dispose();

        var lines = new List<string>();
        var rates = new Dictionary<string, double>();
        Console.WriteLine($"{"config",-22} {"median tok/s",12} {"min",8} {"max",8}");
        foreach (var (name, contender) in contenders)
        {
            var perRound = seconds[name].Select(s => contender.TokensPerRun / s).ToList();
            rates[name] = contender.TokensPerRun / InterleavedRounds.Median(seconds[name]);
            Console.WriteLine($"{name,-22} {rates[name],12:F1} {perRound.Min(),8:F1} {perRound.Max(),8:F1}");
            lines.Add(Invariant($"RESULT generation-throughput phase=decode config={name} tokens_per_s={rates[name]:F1}"));
        }
        foreach (int batch in new[] { 1, 8 })
        {
            var on = contenders.First(c => c.Name == $"batch{batch}-cache").Contender;
            var off = contenders.First(c => c.Name == $"batch{batch}-nocache").Contender;
            // Recomputing gives the same logits up to float rounding, so greedy ids almost always agree; say when not.
            bool same = on.LastIds.Zip(off.LastIds).All(p => p.First.SequenceEqual(p.Second));
            double ratio = rates[$"batch{batch}-cache"] / rates[$"batch{batch}-nocache"];
            lines.Add(Invariant($"RESULT generation-throughput phase=decode config=batch{batch} cache_vs_nocache={ratio:F2} same_ids={(same ? "yes" : "no")}"));
        }
        return lines;
    }

    // (b) Training: LoRA vs full fine-tuning on the same batch, interleaved per round (and their bf16 twins with --bf16 1).
    static List<string> Train(PretrainedDecoder decoder, IReadOnlyDictionary<string, int> o)
    {
        int batch = o["batch"], seq = Math.Min(o["seq"], decoder.Gpt2Config!.NPositions);
        var methods = new List<(string Name, Func<IPeftMethodOptions> Make)>
        {
            ("lora", () => new LoraOptions { Rank = 8, Alpha = 16 }),   // default targets: GPT-2's c_attn
            ("full", () => new FullFineTuningOptions()),
        };
        var dtypes = o["bf16"] != 0 ? new[] { "fp32", "bf16" } : new[] { "fp32" };
        var contenders = new List<(string Name, TrainContender Contender)>();
        foreach (string dtype in dtypes)
            foreach (var (method, make) in methods)
                contenders.Add(($"{method}-{dtype}", new TrainContender(decoder, make(), dtype == "bf16", batch, seq, o["train-steps"])));
        Console.WriteLine();
        Console.WriteLine($"train: batch {batch} x {seq} tokens, AdamW, {o["train-steps"]} timed steps per round after one untimed, " +
                          $"{o["warmup"]} warm-up + {o["train-rounds"]} rounds");
        foreach (var (name, c) in contenders) Console.WriteLine($"  {name}: {c.Summary}");
        var seconds = InterleavedRounds.Measure(contenders.Select(c => (c.Name, (Func<double>)c.Contender.Run)).ToList(), o["warmup"], o["train-rounds"]);

        var lines = new List<string>();
        var rates = new Dictionary<string, double>();
        Console.WriteLine($"{"config",-22} {"median tok/s",12} {"min",8} {"max",8} {"last loss",10}");
        foreach (var (name, contender) in contenders)
        {
            var perRound = seconds[name].Select(s => contender.TokensPerRun / s).ToList();
            rates[name] = contender.TokensPerRun / InterleavedRounds.Median(seconds[name]);
            Console.WriteLine($"{name,-22} {rates[name],12:F1} {perRound.Min(),8:F1} {perRound.Max(),8:F1} {contender.LastLoss,10:F4}");
            lines.Add(Invariant($"RESULT generation-throughput phase=train config={name} batch={batch} seq={seq} tokens_per_s={rates[name]:F1}"));
            contender.Dispose();
        }
        foreach (string dtype in dtypes)
            lines.Add(Invariant($"RESULT generation-throughput phase=train config={dtype} lora_vs_full={rates[$"lora-{dtype}"] / rates[$"full-{dtype}"]:F2}"));
        return lines;
    }

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
