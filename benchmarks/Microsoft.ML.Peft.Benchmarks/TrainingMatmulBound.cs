using System.Diagnostics;
using Microsoft.ML.Peft.Models.Bert;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// The matmuls of one BERT training step replayed alone, at their real shapes and dtype, on tensors allocated once:
/// the time a step would take if everything else (elementwise passes, allocation, autograd, the optimizer) were free.
/// It bounds what any amount of fusing could reach: a configuration cannot train faster than its matmuls, so
/// (full fp32 step time) / (LoRA bf16 matmul time) is the largest LoRA-over-full speedup this machine allows today,
/// and (model FLOPs) / (matmul time) / (1024^3 rate) the largest MFU these shapes allow.
/// </summary>
/// <remarks>
/// Per layer, with N = batch × seq tokens, h hidden, f intermediate and (B·heads) attention matrices of T × T:
/// forward = 4 linears h→h, h→f, f→h, q·kᵀ and p·v (plus LoRA's x·Aᵀ and (xAᵀ)·Bᵀ per target); the backward of every
/// method that trains below the head = the input gradient of each linear (g·W) and the 4 attention products, except
/// layer 0's q/k/v input gradients when the embeddings are frozen; full fine-tuning adds each linear's weight
/// gradient (gᵀ·x), LoRA its factors' gradients. The classifier head and embeddings are negligible and left out.
/// </remarks>
static class TrainingMatmulBound
{
    /// <summary>Median seconds of one step's matmuls over <paramref name="repetitions"/> timed replays after one warm-up.</summary>
    /// <param name="config">The encoder.</param>
    /// <param name="method"><c>full</c>, <c>lora</c> (rank <paramref name="loraRank"/> on query and value) or <c>head</c>.</param>
    public static double StepSeconds(BertConfig config, int batch, int seq, string method, ScalarType dtype, int loraRank, int repetitions = 5)
    {
        if (method == "head") return 0;  // the frozen encoder's forward runs without autograd; its matmuls are not the bound
        using var scope = NewDisposeScope();
        var step = Build(config, batch, seq, method, dtype, loraRank);
        var seconds = new List<double>();
        for (int i = 0; i <= repetitions; i++)
        {
            var clock = Stopwatch.StartNew();
            foreach (var product in step)
                using (product()) { }
            if (i > 0) seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return InterleavedRounds.Median(seconds);
    }

    /// <summary>The step's products, each a closure over operands allocated here once (in the caller's dispose scope).</summary>
    static List<Func<Tensor>> Build(BertConfig c, int batch, int seq, string method, ScalarType dtype, int rank)
    {
        long n = (long)batch * seq, h = c.HiddenSize, f = c.IntermediateSize, heads = c.NumAttentionHeads, d = c.HeadDim;
        Tensor Random(params long[] shape) => randn(shape).to(dtype);
        var x = Random(n, h); var xf = Random(n, f);                  // layer inputs: (N, h) and the FFN's (N, f)
        var gh = Random(n, h); var gf = Random(n, f);                 // output gradients of the same shapes
        var wHH = Random(h, h); var wFH = Random(f, h); var wHF = Random(h, f); var biasH = Random(h); var biasF = Random(f);
        var q = Random(batch, heads, seq, d); var p = Random(batch, heads, seq, seq);  // per-head q (k, v alike) and probabilities
        var a = Random(rank, h); var b = Random(h, rank); var xa = Random(n, rank);  // LoRA factors and x·Aᵀ

        var forward = new List<Func<Tensor>>
        {
            () => nn.functional.linear(x, wHH, biasH), () => nn.functional.linear(x, wHH, biasH),
            () => nn.functional.linear(x, wHH, biasH), () => nn.functional.linear(x, wHH, biasH),
            () => nn.functional.linear(x, wFH, biasF), () => nn.functional.linear(xf, wHF, biasH),
            () => matmul(q, q.transpose(-1, -2)), () => matmul(p, q),
        };
        var attentionBackward = new List<Func<Tensor>>
        {
            () => matmul(q, q.transpose(-1, -2)), () => matmul(p.transpose(-1, -2), q),  // ∂p = g·vᵀ, ∂v = pᵀ·g
            () => matmul(p, q), () => matmul(p.transpose(-1, -2), q),                    // ∂q = ∂s·k, ∂k = ∂sᵀ·q
        };
        Func<Tensor> qkvInputGradient = () => matmul(gh, wHH);
        var otherInputGradients = new List<Func<Tensor>> { () => matmul(gh, wHH), () => matmul(gf, wFH), () => matmul(gh, wHF) };  // output dense, FFN up, FFN down
        var weightGradients = new List<Func<Tensor>>
        {
            () => matmul(gh.t(), x), () => matmul(gh.t(), x), () => matmul(gh.t(), x), () => matmul(gh.t(), x),
            () => matmul(gf.t(), x), () => matmul(gh.t(), xf),
        };
        var loraPerTarget = new List<Func<Tensor>>
        {
            () => nn.functional.linear(x, a), () => nn.functional.linear(xa, b),             // forward
            () => matmul(gh, b), () => matmul(xa, a),                                          // ∂(xAᵀ) = g·B, its input gradient
            () => matmul(gh.t(), xa), () => matmul(xa.t(), x),                                 // ∂B, ∂A
        };

        var step = new List<Func<Tensor>>();
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            step.AddRange(forward);
            step.AddRange(attentionBackward);
            step.AddRange(otherInputGradients);
            // Frozen embeddings (LoRA) need no gradient below layer 0's projections.
            if (method == "full" || layer > 0) step.AddRange(Enumerable.Repeat(qkvInputGradient, 3));
            if (method == "full") step.AddRange(weightGradients);
            if (method == "lora") step.AddRange(loraPerTarget.Concat(loraPerTarget));  // query and value
        }
        return step;
    }
}
