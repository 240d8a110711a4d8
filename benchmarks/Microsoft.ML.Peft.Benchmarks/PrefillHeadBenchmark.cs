using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Gpt2;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// What running the output head on the last position only saves a prefill: <see cref="ICausalLM.LastLogits"/> (what
/// generation calls) against <see cref="ICausalLM.forward"/> followed by taking the last row, on a GPT-2-small-shaped
/// decoder (12 layers, n_embd 768, vocabulary 50,257, tied head; random weights, fp32, no gradient), interleaved rounds,
/// medians. The shipped decoder's vocabulary (641) is too small for the head to matter.
/// Usage: <c>prefill-head [--batch 4] [--seq 128] [--rounds 7] [--warmup 1]</c>.
/// </summary>
sealed class PrefillHeadBenchmark : IBenchmark
{
    public string Name => "prefill-head";

    public string Description => "GPT-2-small-shaped prefill: head on the last position (LastLogits) vs on every position";

    public void Run(string[] args)
    {
        var o = BenchmarkArguments.Ints(args, ("batch", 4, 1), ("seq", 128, 1), ("rounds", 7, 1), ("warmup", 1, 0));
        using var model = new Gpt2LMHeadModel(new Gpt2Config { VocabSize = 50257, NPositions = 1024, NEmbd = 768, NLayer = 12, NHead = 12 });
        model.eval();
        ICausalLM lm = model;
        using var ids = randint(0, lm.VocabSize, new long[] { o["batch"], o["seq"] });
        using var noGrad = no_grad();
        double Time(Func<Tensor> lastRow)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            lastRow().sum().item<float>();  // item() waits for the result
            return clock.Elapsed.TotalSeconds;
        }
        var seconds = InterleavedRounds.Measure(new (string, Func<double>)[]
        {
            ("every-position", () => Time(() => lm.forward(ids).select(1, -1))),
            ("last-position", () => Time(() => lm.LastLogits(ids))),
        }, o["warmup"], o["rounds"]);
        double every = InterleavedRounds.Median(seconds["every-position"]), last = InterleavedRounds.Median(seconds["last-position"]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT prefill-head batch={o["batch"]} seq={o["seq"]} every_position_ms={every * 1e3:F1} last_position_ms={last * 1e3:F1} speedup={every / last:F2} load_average={BenchmarkArguments.LoadAverage()}"));
    }
}
