using Onnx;

namespace Microsoft.ML.Peft.Onnx.Graph;

/// <summary>
/// Read-only index over an ONNX graph: who produces a value, who consumes it, and which values are
/// constants. Pattern matchers walk the graph through this index instead of relying on value names,
/// because exporters name weights arbitrarily (all-MiniLM-L6-v2 calls its MatMul weights "927", "928", ...).
/// </summary>
internal sealed class OnnxGraph
{
    readonly Dictionary<string, NodeProto> _producers = new();
    readonly Dictionary<string, List<NodeProto>> _consumers = new();
    readonly Dictionary<string, TensorProto> _constants = new();
    static readonly IReadOnlyList<NodeProto> None = Array.Empty<NodeProto>();

    public OnnxGraph(GraphProto graph)
    {
        Proto = graph;
        foreach (var init in graph.Initializer) _constants[init.Name] = init;
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
                if (output.Length > 0) _producers[output] = node;
            foreach (var input in node.Input)
            {
                if (input.Length == 0) continue;
                if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = new List<NodeProto>();
                if (!list.Contains(node)) list.Add(node);
            }
            // Some exporters emit weights and scalars as Constant nodes rather than initializers.
            if (node.OpType == "Constant" && node.Output.Count == 1)
            {
                var value = node.Attribute.FirstOrDefault(a => a.Name == "value");
                if (value?.T != null) _constants[node.Output[0]] = value.T;
            }
        }
        // Graph inputs that are also initializers are overridable defaults, i.e. weights, not data inputs.
        Inputs = graph.Input.Select(i => i.Name).Where(n => !_constants.ContainsKey(n)).ToList();
    }

    /// <summary>The wrapped protobuf graph.</summary>
    public GraphProto Proto { get; }

    /// <summary>Names of the graph's data inputs (initializers excluded), in declaration order.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>The node that outputs <paramref name="value"/>, or null for graph inputs and initializers.</summary>
    public NodeProto? Producer(string value) => _producers.GetValueOrDefault(value);

    /// <summary>The nodes that read <paramref name="value"/>, in graph order.</summary>
    public IReadOnlyList<NodeProto> Consumers(string value) =>
        _consumers.TryGetValue(value, out var list) ? list : None;

    /// <summary>
    /// The constant tensor behind <paramref name="value"/> (an initializer or a Constant node's output),
    /// looking through Identity nodes; null when the value is computed at run time.
    /// </summary>
    public TensorProto? Constant(string value)
    {
        for (int hops = 0; hops < 8; hops++)
        {
            if (_constants.TryGetValue(value, out var tensor)) return tensor;
            var producer = Producer(value);
            if (producer?.OpType != "Identity") return null;
            value = producer.Input[0];
        }
        return null;
    }

    /// <summary>True when <paramref name="value"/> is a constant (see <see cref="Constant"/>).</summary>
    public bool IsConstant(string value) => Constant(value) != null;

    /// <summary>A short human-readable description of a node for error messages.</summary>
    public static string Describe(NodeProto node) =>
        string.IsNullOrEmpty(node.Name) ? $"{node.OpType} node" : $"{node.OpType} '{node.Name}'";
}
