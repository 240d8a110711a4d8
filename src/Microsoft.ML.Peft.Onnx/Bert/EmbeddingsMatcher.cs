using Microsoft.ML.Peft.Onnx.Graph;
using Onnx;

namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// Recognises BERT embeddings: Gather(word table, input_ids) + Gather(token-type table, token_type_ids)
/// + Gather(position table, positions), summed by Adds in any order, then LayerNorm.
/// </summary>
internal static class EmbeddingsMatcher
{
    public static EmbeddingsMatch Match(OnnxGraph graph)
    {
        // input_ids by name when the exporter kept HF names, else the first data input.
        string ids = graph.Inputs.Contains("input_ids") ? "input_ids"
            : graph.Inputs.FirstOrDefault() ?? throw Fail("the graph has no data inputs");
        var word = TableGathers(graph, ids).FirstOrDefault()
            ?? throw Fail($"no Gather of an embedding table on '{ids}'");

        // Walk the chain of Adds that sums the embeddings, collecting the other summands.
        var summands = new List<NodeProto>();
        string sum = word.Output[0];
        while (graph.Consumers(sum) is { Count: 1 } next && next[0].OpType == "Add")
        {
            var other = next[0].OtherInput(sum);
            if (other == null) break;
            if (graph.Producer(other) is { OpType: "Gather" } gather && graph.Constant(gather.Input[0]) != null)
                summands.Add(gather);
            else
                break; // something else joins: the LayerNorm's own Add chain, not an embedding
            sum = next[0].Output[0];
        }

        // token_type_ids is a graph input; positions are computed (Slice of a constant, Range, ...).
        var tokenType = summands.FirstOrDefault(g => ComesFromInput(graph, g.Input[1]))
            ?? throw Fail("no token-type embedding Gather (on a graph input such as token_type_ids) added to the word embeddings");
        var position = summands.FirstOrDefault(g => g != tokenType)
            ?? throw Fail("no position embedding Gather added to the word embeddings");
        var norm = LayerNormMatcher.MatchFrom(graph, sum)
            ?? throw Fail("no LayerNorm after the sum of the word, position and token-type embeddings");

        return new EmbeddingsMatch(Table(graph, word), Table(graph, position), Table(graph, tokenType), norm);
    }

    /// <summary>Gathers whose indices are <paramref name="input"/> (possibly cast) and whose data is a 2-D constant.</summary>
    static IEnumerable<NodeProto> TableGathers(OnnxGraph graph, string input)
    {
        foreach (var node in graph.Consumers(input))
        {
            if (node.OpType == "Gather" && node.Input[1] == input && graph.Constant(node.Input[0])?.Dims.Count == 2)
                yield return node;
            else if (node.OpType == "Cast")
                foreach (var inner in TableGathers(graph, node.Output[0])) yield return inner;
        }
    }

    static bool ComesFromInput(OnnxGraph graph, string value)
    {
        for (int hops = 0; hops < 4; hops++)
        {
            if (graph.Inputs.Contains(value)) return true;
            if (graph.Producer(value) is not { OpType: "Cast" or "Identity" } p) return false;
            value = p.Input[0];
        }
        return false;
    }

    static EmbeddingPart Table(OnnxGraph graph, NodeProto gather)
    {
        var table = graph.Constant(gather.Input[0])!;
        return new EmbeddingPart(table.Name, OnnxTensors.Floats(table), table.Dims[0], table.Dims[1]);
    }

    static OnnxGraphMismatchException Fail(string what) => new($"embeddings: {what}.");
}
