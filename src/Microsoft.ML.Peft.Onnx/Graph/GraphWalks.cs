using Onnx;

namespace Microsoft.ML.Peft.Onnx.Graph;

/// <summary>Forward searches used by the pattern matchers.</summary>
internal static class GraphWalks
{
    /// <summary>
    /// Ops that only reshape, reorder, rescale or retype a value. Attention is exported with Q, K and V
    /// passing through several of these (Reshape to heads, Transpose, sometimes a scale Mul) before they
    /// meet, and the matchers must see through them to recognise which projection goes where.
    /// </summary>
    static readonly HashSet<string> ViewOps = new() { "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Cast", "Identity", "Dropout", "Flatten" };

    /// <summary>
    /// The first non-view nodes reading <paramref name="value"/> after any chain of view ops, with the input
    /// index at which they read it. Mul/Div by a constant count as views, since exporters sometimes scale
    /// Q or K by 1/sqrt(d) before the QK^T MatMul.
    /// </summary>
    public static List<(NodeProto Node, int InputIndex)> ThroughViews(OnnxGraph graph, string value, int maxDepth = 8)
    {
        var found = new List<(NodeProto, int)>();
        var frontier = new List<string> { value };
        var seen = new HashSet<string> { value };
        for (int depth = 0; depth <= maxDepth && frontier.Count > 0; depth++)
        {
            var next = new List<string>();
            foreach (var name in frontier)
                foreach (var node in graph.Consumers(name))
                {
                    int index = node.Input.IndexOf(name);
                    // Only the data input (index 0) of a view op carries the value; shape inputs do not.
                    bool isView = (ViewOps.Contains(node.OpType) && index == 0)
                        || (node.OpType is "Mul" or "Div" && node.Input.Count == 2 && index == 0 && graph.IsConstant(node.Input[1]))
                        || (node.OpType == "Mul" && node.Input.Count == 2 && index == 1 && graph.IsConstant(node.Input[0]));
                    if (isView && node.Output.Count > 0)
                    {
                        if (seen.Add(node.Output[0])) next.Add(node.Output[0]);
                    }
                    else
                    {
                        found.Add((node, index));
                    }
                }
            frontier = next;
        }
        return found;
    }

    /// <summary>The first Reshape node after <paramref name="value"/> through view ops, or null.</summary>
    public static NodeProto? FirstReshape(OnnxGraph graph, string value)
    {
        var frontier = new Queue<string>(new[] { value });
        for (int steps = 0; steps < 16 && frontier.Count > 0; steps++)
        {
            var name = frontier.Dequeue();
            foreach (var node in graph.Consumers(name))
            {
                if (node.OpType == "Reshape" && node.Input[0] == name) return node;
                if (ViewOps.Contains(node.OpType) && node.Input[0] == name) frontier.Enqueue(node.Output[0]);
            }
        }
        return null;
    }

    /// <summary>
    /// Breadth-first search forward from <paramref name="value"/> through nodes whose op type is in
    /// <paramref name="passOps"/>, for the first node accepted by <paramref name="target"/>. Every op type
    /// passed on the way is added to <paramref name="passed"/> when given (used to recognise GELU variants).
    /// </summary>
    public static NodeProto? FindForward(OnnxGraph graph, string value, ISet<string> passOps, Func<NodeProto, bool> target,
                                         int maxDepth = 8, ISet<string>? passed = null)
    {
        var frontier = new List<string> { value };
        var seen = new HashSet<NodeProto>();
        for (int depth = 0; depth <= maxDepth && frontier.Count > 0; depth++)
        {
            var next = new List<string>();
            foreach (var name in frontier)
                foreach (var node in graph.Consumers(name))
                {
                    if (!seen.Add(node)) continue;
                    if (target(node)) return node;
                    if (!passOps.Contains(node.OpType)) continue;
                    passed?.Add(node.OpType == "Gelu" ? "Gelu:" + node.String("approximate", "none") : node.OpType);
                    next.AddRange(node.Output.Where(o => o.Length > 0));
                }
            frontier = next;
        }
        return null;
    }

    /// <summary>
    /// Resolves the values of a shape tensor (a Reshape's second input): a constant, or a Concat of
    /// constants and run-time pieces (batch and sequence sizes). Unknown entries are null.
    /// </summary>
    public static long?[]? ShapeValues(OnnxGraph graph, string shape)
    {
        if (graph.Constant(shape) is { } constant) return OnnxTensors.Int64s(constant).Select(v => (long?)v).ToArray();
        var producer = graph.Producer(shape);
        if (producer?.OpType != "Concat") return null;
        var values = new List<long?>();
        foreach (var piece in producer.Input)
        {
            if (graph.Constant(piece) is { } part) values.AddRange(OnnxTensors.Int64s(part).Select(v => (long?)v));
            else values.Add(null); // a run-time piece such as Unsqueeze(Gather(Shape(x))) is one dimension
        }
        return values.ToArray();
    }
}
