using Microsoft.ML.Peft.Onnx.Graph;
using Onnx;

namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// Recognises BERT self-attention starting from the layer input: three Linear layers read the same value;
/// the one reaching the left side of the QK^T MatMul is the query, the one reaching its right (transposed)
/// side is the key, and the one whose heads are multiplied by the Softmax output is the value.
/// </summary>
internal static class AttentionMatcher
{
    /// <summary>Softmax input chain: scale, mask addition, casts.</summary>
    static readonly HashSet<string> ScoreOps = new() { "Div", "Mul", "Add", "Sub", "Where", "Cast", "Identity" };

    /// <summary>The result of matching attention for one layer.</summary>
    internal sealed record Result(LinearPart Query, LinearPart Key, LinearPart Value, int Heads, LinearPart Output, LayerNormPart Norm);

    /// <summary>
    /// Matches attention for layer <paramref name="layer"/>, given the three projections that read the
    /// layer input <paramref name="input"/>.
    /// </summary>
    public static Result Match(OnnxGraph graph, int layer, string input, IReadOnlyList<LinearPart> projections, int hidden)
    {
        Exception Fail(string what) => new OnnxGraphMismatchException($"layer {layer}: {what}.");

        // Where each projection ends up after reshaping to heads and transposing.
        var reach = projections.Select(p => GraphWalks.ThroughViews(graph, p.Output)).ToList();
        NodeProto? scores = null;
        int q = -1, k = -1;
        for (int a = 0; a < 3 && scores == null; a++)
            foreach (var (node, index) in reach[a])
            {
                if (node.OpType != "MatMul" || index != 0) continue;
                int b = Enumerable.Range(0, 3).FirstOrDefault(j => j != a && reach[j].Contains((node, 1)), -1);
                if (b < 0) continue;
                (scores, q, k) = (node, a, b);
                break;
            }
        if (scores == null) throw Fail("no QK^T MatMul joining two of the three projections that read the same LayerNorm output");
        int v = 3 - q - k;

        var softmax = GraphWalks.FindForward(graph, scores.Output[0], ScoreOps, n => n.OpType == "Softmax", maxDepth: 6)
            ?? throw Fail("no Softmax after the QK^T MatMul");
        var context = GraphWalks.ThroughViews(graph, softmax.Output[0])
            .Where(r => r.Node.OpType == "MatMul" && r.InputIndex == 0 && reach[v].Contains((r.Node, 1)))
            .Select(r => r.Node).FirstOrDefault()
            ?? throw Fail("no MatMul of the Softmax output with the value projection");

        int heads = Heads(graph, projections[q], hidden) ?? Heads(graph, projections[k], hidden) ?? Heads(graph, projections[v], hidden)
            ?? throw Fail("cannot read the number of attention heads from the Reshape shapes of Q, K or V");

        // Context heads are transposed back and merged, then projected by the attention output dense.
        var output = GraphWalks.ThroughViews(graph, context.Output[0])
            .Select(r => r.InputIndex == 0 ? LinearMatcher.Match(graph, r.Node, r.Node.Input[0]) : null)
            .FirstOrDefault(l => l != null)
            ?? throw Fail("no attention output projection (MatMul by a constant weight) after the context MatMul");
        var norm = ResidualNorm(graph, output.Output, input)
            ?? throw Fail("no residual Add + LayerNorm after the attention output projection");
        return new Result(projections[q], projections[k], projections[v], heads, output, norm);
    }

    /// <summary>
    /// Add(<paramref name="value"/>, <paramref name="residual"/>) followed by LayerNorm: the post-norm
    /// residual connection of BERT. Returns the LayerNorm, or null.
    /// </summary>
    public static LayerNormPart? ResidualNorm(OnnxGraph graph, string value, string residual)
    {
        var add = graph.Consumers(value).FirstOrDefault(n => n.OpType == "Add" && n.OtherInput(value) == residual);
        return add == null ? null : LayerNormMatcher.MatchFrom(graph, add.Output[0]);
    }

    /// <summary>
    /// Heads from the Reshape that splits a projection into [batch, seq, heads, head_dim]: the heads entry
    /// when constant, else hidden / head_dim.
    /// </summary>
    static int? Heads(OnnxGraph graph, LinearPart projection, int hidden)
    {
        var reshape = GraphWalks.FirstReshape(graph, projection.Output);
        if (reshape == null || reshape.Input.Count < 2) return null;
        var shape = GraphWalks.ShapeValues(graph, reshape.Input[1]);
        if (shape == null || shape.Length != 4) return null;
        long? h = shape[2], d = shape[3];
        if (h > 0 && (d is null || d <= 0 || h * d == hidden)) return (int)h.Value;
        if (d > 0 && hidden % d.Value == 0) return (int)(hidden / d.Value);
        return null;
    }
}
