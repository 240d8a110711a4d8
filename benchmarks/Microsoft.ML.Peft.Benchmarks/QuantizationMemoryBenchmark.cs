using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Peft.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Bytes held by the frozen Linear weights of a stack in fp32, bf16, NF4 and NF4 + double quantization, the
/// time to quantize the stack, and the time of one layer's projections (dequantize + matmul for NF4) at a
/// batch of 16 x 128 tokens. Goal: NF4 + double quantization at most 30% of bf16 and 15% of fp32.
/// Usage: <c>nf4-memory [--model minilm|llama|all] [--reps 5] [--batch 16] [--seq 128]</c>.
/// </summary>
sealed class QuantizationMemoryBenchmark : IBenchmark
{
    const double MB = 1e6;

    public string Name => "nf4-memory";

    public string Description => "frozen Linear bytes fp32/bf16/NF4/NF4+DQ, quantize time, dequant+matmul step time";

    // (out_features, in_features) of one transformer layer's projections, and the number of layers.
    static readonly (string Name, int Layers, (long Out, long In)[] Shapes)[] Models =
    {
        ("minilm", 6, new (long, long)[] { (384, 384), (384, 384), (384, 384), (384, 384), (1536, 384), (384, 1536) }),
        ("llama-100m", 12, new (long, long)[] { (768, 768), (768, 768), (768, 768), (768, 768), (2048, 768), (2048, 768), (768, 2048) }),
    };

    public void Run(string[] args)
    {
        var options = Options.Parse(args);
        using var noGrad = no_grad();
        using (var warmUp = nn.Linear(64, 64)) Linear4bit.FromLinear(warmUp).Dispose();   // first-call costs out of the timings
        foreach (var model in Models.Where(m => options.Model == "all" || m.Name.StartsWith(options.Model, StringComparison.Ordinal)))
            Measure(model.Name, model.Layers, model.Shapes, options);
    }

    static void Measure(string name, int layers, (long Out, long In)[] shapes, Options options)
    {
        manual_seed(1);
        // Random weights (nn.Linear's own init); LLaMA-style projections have no bias.
        var linears = Enumerable.Range(0, layers).SelectMany(_ => shapes.Select(s => nn.Linear(s.In, s.Out, hasBias: false))).ToList();
        long parameters = linears.Sum(l => l.weight!.numel());
        double fp32 = parameters * 4 / MB, bf16 = parameters * 2 / MB;

        var (nf4Layers, nf4Seconds) = QuantizeAll(linears, new QuantizationOptions { DoubleQuant = false });
        var (dqLayers, dqSeconds) = QuantizeAll(linears, new QuantizationOptions { DoubleQuant = true });
        double nf4 = nf4Layers.Sum(l => l.FrozenBytes) / MB, nf4Dq = dqLayers.Sum(l => l.FrozenBytes) / MB;

        // One layer's projections on a (batch, seq, in) input: fp32 Linear, bf16 Linear, NF4+DQ in bf16 and fp32 compute.
        var first = linears.Take(shapes.Length).ToList();
        var bf16Linears = first.Select(l => CastCopy(l, ScalarType.BFloat16)).ToList();
        var fp32Compute = first.Select(l => Linear4bit.FromLinear(l, new QuantizationOptions { ComputeDType = ScalarType.Float32 })).ToList();
        var inputs32 = shapes.Select(s => s.In).Distinct().ToDictionary(n => n, n => randn(options.Batch, options.Seq, n));
        var inputs16 = inputs32.ToDictionary(p => p.Key, p => p.Value.to(ScalarType.BFloat16));
        double stepFp32 = Time(options.Reps, () => Step(first.Cast<nn.Module<Tensor, Tensor>>(), shapes, inputs32));
        double stepBf16 = Time(options.Reps, () => Step(bf16Linears.Cast<nn.Module<Tensor, Tensor>>(), shapes, inputs16));
        double stepNf4 = Time(options.Reps, () => Step(dqLayers.Take(shapes.Length), shapes, inputs16));
        double stepNf4Fp32 = Time(options.Reps, () => Step(fp32Compute, shapes, inputs32));
        double dequant = Time(options.Reps, () => { foreach (var l in dqLayers.Take(shapes.Length)) l.Dequantize().Dispose(); });

        Console.WriteLine();
        Console.WriteLine($"nf4-memory: {name}, {layers} layers, {parameters / 1e6:F1}M weight parameters, {linears.Count} Linear layers");
        Row("fp32", $"{fp32,10:F2} MB", "1.000x fp32");
        Row("bf16", $"{bf16,10:F2} MB", $"{bf16 / fp32:F3}x fp32");
        Row("nf4", $"{nf4,10:F2} MB", $"{nf4 / bf16:F3}x bf16, {nf4 / fp32:F3}x fp32, {nf4 * 8 * MB / parameters:F3} bits/param");
        Row("nf4 + double quant", $"{nf4Dq,10:F2} MB", $"{nf4Dq / bf16:F3}x bf16, {nf4Dq / fp32:F3}x fp32, {nf4Dq * 8 * MB / parameters:F3} bits/param (goal <= 0.30x bf16, <= 0.15x fp32)");
        Row("quantize nf4", $"{nf4Seconds,10:F2} s", $"{parameters / 1e6 / nf4Seconds:F1}M params/s");
        Row("quantize nf4 + dq", $"{dqSeconds,10:F2} s", $"{parameters / 1e6 / dqSeconds:F1}M params/s");
        string tokens = $"{options.Batch}x{options.Seq} tokens, one layer ({shapes.Length} projections), best of {options.Reps}";
        Row("step fp32 Linear", $"{stepFp32 * 1e3,10:F1} ms", tokens);
        Row("step bf16 Linear", $"{stepBf16 * 1e3,10:F1} ms", $"{stepBf16 / stepFp32:F2}x fp32");
        Row("step nf4 (bf16 compute)", $"{stepNf4 * 1e3,10:F1} ms", $"{stepNf4 / stepBf16:F2}x bf16, {stepNf4 / stepFp32:F2}x fp32; dequantize alone {dequant * 1e3:F1} ms");
        Row("step nf4 (fp32 compute)", $"{stepNf4Fp32 * 1e3,10:F1} ms", $"{stepNf4Fp32 / stepFp32:F2}x fp32");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT nf4-memory model={name} fp32_mb={fp32:F2} bf16_mb={bf16:F2} nf4_mb={nf4:F2} nf4_dq_mb={nf4Dq:F2} " +
            $"nf4_dq_vs_bf16={nf4Dq / bf16:F4} nf4_dq_vs_fp32={nf4Dq / fp32:F4} quantize_s={dqSeconds:F3} " +
            $"step_fp32_ms={stepFp32 * 1e3:F1} step_bf16_ms={stepBf16 * 1e3:F1} step_nf4_ms={stepNf4 * 1e3:F1} " +
            $"nf4_vs_bf16_step={stepNf4 / stepBf16:F2} nf4_vs_fp32_step={stepNf4 / stepFp32:F2}"));

        foreach (var m in linears.Concat<nn.Module>(nf4Layers).Concat(dqLayers).Concat(bf16Linears).Concat(fp32Compute)) m.Dispose();
        foreach (var t in inputs32.Values.Concat(inputs16.Values)) t.Dispose();
    }

    static (List<Linear4bit> Layers, double Seconds) QuantizeAll(List<Linear> linears, QuantizationOptions options)
    {
        var clock = Stopwatch.StartNew();
        var layers = linears.Select(l => Linear4bit.FromLinear(l, options)).ToList();
        return (layers, clock.Elapsed.TotalSeconds);
    }

    static Linear CastCopy(Linear source, ScalarType dtype)
    {
        var copy = nn.Linear(source.in_features, source.out_features, hasBias: false, dtype: dtype);
        copy.weight!.copy_(source.weight!);
        return copy;
    }

    // Each projection applied to the input of its width; outputs are discarded (this is a throughput probe).
    static void Step(IEnumerable<nn.Module<Tensor, Tensor>> layers, (long Out, long In)[] shapes, Dictionary<long, Tensor> inputs)
    {
        using var scope = NewDisposeScope();
        foreach (var (layer, shape) in layers.Zip(shapes)) layer.forward(inputs[shape.In]);
    }

    // Best wall time of `reps` runs after one warm-up run: on a shared VM the minimum is the least disturbed run.
    static double Time(int reps, Action action)
    {
        action();
        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return times.Min();
    }

    static void Row(string what, string value, string note) => Console.WriteLine($"  {what,-26}{value}   {note}");

    sealed record Options(string Model, int Reps, long Batch, long Seq)
    {
        public static Options Parse(string[] args)
        {
            var options = new Options("all", 5, 16, 128);
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                options = args[i] switch
                {
                    "--model" => options with { Model = Next() },
                    "--reps" => options with { Reps = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--batch" => options with { Batch = long.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--seq" => options with { Seq = long.Parse(Next(), CultureInfo.InvariantCulture) },
                    _ => throw new ArgumentException($"Unknown option '{args[i]}'. Options: --model minilm|llama|all, --reps N, --batch N, --seq N."),
                };
            }
            return options;
        }
    }
}
