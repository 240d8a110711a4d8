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
/// gradient (gᵀ·x), LoRA its factors' gradients. The classifier head and embeddings are negligible and left out. The
/// last layer computes only the position the head reads, so its products other than the key and value projections
/// have one row per sequence (see <see cref="BlockOperands"/>).
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
        // The classification head reads one position, so the last block computes queries and everything after attention
        // for that position alone (BertEncoder's firstTokenOnly); its keys and values still cover the sequence.
        // Blocks of one shape share their operands, hot in cache, so that the replay stays a lower bound (operands of
        // their own per block made it slower than the training step it bounds).
        var wholeBlock = new BlockOperands(c, batch, seq, seq, dtype, rank);
        var lastBlock = new BlockOperands(c, batch, seq, 1, dtype, rank);
        var step = new List<Func<Tensor>>();
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            // Frozen embeddings (LoRA) need no gradient below layer 0's projections.
            bool qkvInputGradients = method == "full" || layer > 0;
            step.AddRange((layer == c.NumHiddenLayers - 1 ? lastBlock : wholeBlock).Products(method, qkvInputGradients));
        }
        return step;
    }

    /// <summary>
    /// One block's operands when <paramref name="queries"/> of the <paramref name="seq"/> positions get a query and an
    /// output: N = batch × seq rows for the key and value projections, Nq = batch × queries rows for the rest.
    /// </summary>
    sealed class BlockOperands(BertConfig c, int batch, int seq, int queries, ScalarType dtype, int rank)
    {
        static Tensor Random(ScalarType dtype, params long[] shape) => randn(shape).to(dtype);

        readonly Tensor x = Random(dtype, (long)batch * seq, c.HiddenSize), gh = Random(dtype, (long)batch * seq, c.HiddenSize);      // all rows: input, output gradient
        readonly Tensor xq = Random(dtype, (long)batch * queries, c.HiddenSize), ghq = Random(dtype, (long)batch * queries, c.HiddenSize);  // query rows
        readonly Tensor xf = Random(dtype, (long)batch * queries, c.IntermediateSize), gf = Random(dtype, (long)batch * queries, c.IntermediateSize);  // the FFN's rows
        readonly Tensor wHH = Random(dtype, c.HiddenSize, c.HiddenSize), wFH = Random(dtype, c.IntermediateSize, c.HiddenSize), wHF = Random(dtype, c.HiddenSize, c.IntermediateSize);
        readonly Tensor biasH = Random(dtype, c.HiddenSize), biasF = Random(dtype, c.IntermediateSize);
        readonly Tensor k = Random(dtype, batch, c.NumAttentionHeads, seq, c.HeadDim);      // per-head keys (values alike)
        readonly Tensor q = Random(dtype, batch, c.NumAttentionHeads, queries, c.HeadDim);  // per-head queries
        readonly Tensor p = Random(dtype, batch, c.NumAttentionHeads, queries, seq);        // probabilities
        readonly Tensor a = Random(dtype, rank, c.HiddenSize), b = Random(dtype, c.HiddenSize, rank);  // LoRA factors
        readonly Tensor xa = Random(dtype, (long)batch * seq, rank), xqa = Random(dtype, (long)batch * queries, rank);  // x·Aᵀ

        /// <summary>The block's products for <paramref name="method"/>, with or without the q/k/v input gradients.</summary>
        public List<Func<Tensor>> Products(string method, bool qkvInputGradients)
        {
            var products = new List<Func<Tensor>>
            {
                // forward: q, k, v, output dense, FFN up and down; scores and mixing
                () => nn.functional.linear(xq, wHH, biasH), () => nn.functional.linear(x, wHH, biasH),
                () => nn.functional.linear(x, wHH, biasH), () => nn.functional.linear(xq, wHH, biasH),
                () => nn.functional.linear(xq, wFH, biasF), () => nn.functional.linear(xf, wHF, biasH),
                () => matmul(q, k.transpose(-1, -2)), () => matmul(p, k),
                // attention backward: ∂p = g·vᵀ, ∂v = pᵀ·g, ∂q = ∂s·k, ∂k = ∂sᵀ·q
                () => matmul(q, k.transpose(-1, -2)), () => matmul(p.transpose(-1, -2), q),
                () => matmul(p, k), () => matmul(p.transpose(-1, -2), q),
                // input gradients of the output dense, FFN up and FFN down
                () => matmul(ghq, wHH), () => matmul(gf, wFH), () => matmul(ghq, wHF),
            };
            if (qkvInputGradients) products.AddRange(new Func<Tensor>[] { () => matmul(ghq, wHH), () => matmul(gh, wHH), () => matmul(gh, wHH) });
            if (method == "full")
                products.AddRange(new Func<Tensor>[]  // weight gradients gᵀ·x: q, k, v, output dense, FFN up, FFN down
                {
                    () => matmul(ghq.t(), xq), () => matmul(gh.t(), x), () => matmul(gh.t(), x), () => matmul(ghq.t(), xq),
                    () => matmul(gf.t(), xq), () => matmul(ghq.t(), xf),
                });
            if (method == "lora")
                foreach (var (input, inputA, gradient) in new[] { (xq, xqa, ghq), (x, xa, gh) })  // query (its rows) and value (all)
                    products.AddRange(new Func<Tensor>[]
                    {
                        () => nn.functional.linear(input, a), () => nn.functional.linear(inputA, b),  // forward
                        () => matmul(gradient, b), () => matmul(inputA, a),                        // ∂(xAᵀ) = g·B, its input gradient
                        () => matmul(gradient.t(), inputA), () => matmul(inputA.t(), input),       // ∂B, ∂A
                    });
            return products;
        }
    }
}
