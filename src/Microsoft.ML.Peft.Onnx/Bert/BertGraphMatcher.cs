using Microsoft.ML.Peft.Onnx.Graph;

namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// Matches a whole BERT graph: embeddings, then encoder layers for as long as three Linear layers read the
/// current hidden state, then the optional pooler.
/// </summary>
internal static class BertGraphMatcher
{
    public static BertMatch Match(OnnxGraph graph)
    {
        var embeddings = EmbeddingsMatcher.Match(graph);
        int hidden = (int)embeddings.Word.Hidden;
        var layers = new List<EncoderLayerMatch>();
        string state = embeddings.Norm.Output;
        while (true)
        {
            int i = layers.Count;
            var projections = LinearMatcher.AllFrom(graph, state);
            // Past the last layer the hidden state feeds the pooler, a head, or nothing.
            if (projections.Count != 3 && i > 0) break;
            if (projections.Count != 3)
                throw new OnnxGraphMismatchException(
                    $"layer {i}: expected three MatMuls (Q, K, V) fed by the same LayerNorm output, found {projections.Count}.");
            var attention = AttentionMatcher.Match(graph, i, state, projections, hidden);
            var ffn = FeedForwardMatcher.Match(graph, i, attention.Norm.Output);
            layers.Add(new EncoderLayerMatch(attention.Query, attention.Key, attention.Value, attention.Heads,
                attention.Output, attention.Norm, ffn.Intermediate, ffn.Activation, ffn.Output, ffn.Norm));
            state = ffn.Norm.Output;
        }
        return new BertMatch(embeddings, layers, MatchPooler(graph, state));
    }

    /// <summary>
    /// The pooler: the first token of the last hidden state (Gather index 0 on the sequence axis, or a Slice),
    /// through a Linear, then Tanh. Absent when nothing takes the first token; an error when the first token is
    /// taken but the dense + Tanh does not follow.
    /// </summary>
    static LinearPart? MatchPooler(OnnxGraph graph, string state)
    {
        var first = graph.Consumers(state).FirstOrDefault(n =>
            (n.OpType == "Gather" && n.Input[0] == state && n.Int("axis", 0) == 1
             && graph.Constant(n.Input[1]) is { } index && OnnxTensors.Int64s(index) is [0])
            || (n.OpType == "Slice" && n.Input[0] == state));
        if (first == null) return null;
        foreach (var (node, index) in GraphWalks.ThroughViews(graph, first.Output[0]))
        {
            if (index != 0 || LinearMatcher.Match(graph, node, node.Input[0]) is not { } dense) continue;
            if (graph.Consumers(dense.Output).Any(n => n.OpType == "Tanh")) return dense;
        }
        throw new OnnxGraphMismatchException("pooler: the first token of the last hidden state is taken, but no MatMul + Tanh follows.");
    }
}
