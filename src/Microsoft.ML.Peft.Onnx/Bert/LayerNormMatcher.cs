using Microsoft.ML.Peft.Onnx.Graph;
using Onnx;

namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// Recognises LayerNorm over the last axis, either as one LayerNormalization node (opset 17+ exports)
/// or decomposed the way older torch exporters write it:
/// <c>d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(Pow(d, 2)) + eps) * gamma + beta</c>.
/// </summary>
internal static class LayerNormMatcher
{
    /// <summary>The LayerNorm that normalises <paramref name="input"/>, or null when none reads it.</summary>
    public static LayerNormPart? MatchFrom(OnnxGraph graph, string input)
    {
        foreach (var node in graph.Consumers(input))
        {
            if (node.OpType == "LayerNormalization" && node.Input[0] == input)
                return Fused(graph, node);
            if (node.OpType == "ReduceMean" && Decomposed(graph, input, node) is { } part)
                return part;
        }
        return null;
    }

    static LayerNormPart? Fused(OnnxGraph graph, NodeProto node)
    {
        long axis = node.Int("axis", -1);
        if (axis != -1 && axis != 2) return null; // BERT normalises the hidden axis of [batch, seq, hidden]
        var gamma = graph.Constant(node.Input[1]);
        if (gamma == null) return null;
        var gammaValues = OnnxTensors.Floats(gamma);
        var beta = node.Input.Count > 2 && node.Input[2].Length > 0 ? graph.Constant(node.Input[2]) : null;
        return new LayerNormPart(node.Input[0], node.Output[0], gamma.Name, gammaValues, beta?.Name,
                                 beta != null ? OnnxTensors.Floats(beta) : new float[gammaValues.Length],
                                 node.Float("epsilon", 1e-5f));
    }

    static LayerNormPart? Decomposed(OnnxGraph graph, string x, NodeProto mean)
    {
        // d = x - mean(x)
        var sub = graph.Consumers(mean.Output[0]).FirstOrDefault(n => n.OpType == "Sub" && n.Input[0] == x && n.Input[1] == mean.Output[0]);
        if (sub == null) return null;
        string d = sub.Output[0];
        // d / sqrt(var + eps): find the Div of d and read the variance branch backwards from its divisor.
        var div = graph.Consumers(d).FirstOrDefault(n => n.OpType == "Div" && n.Input[0] == d);
        if (div == null) return null;
        var sqrt = graph.Producer(div.Input[1]);
        if (sqrt?.OpType != "Sqrt") return null;
        var addEps = graph.Producer(sqrt.Input[0]);
        if (addEps?.OpType != "Add") return null;
        var epsValue = addEps.Input.Select(graph.Constant).FirstOrDefault(c => c != null);
        var varMean = addEps.Input.Select(graph.Producer).FirstOrDefault(p => p?.OpType == "ReduceMean");
        if (epsValue == null || varMean == null) return null;
        var square = graph.Producer(varMean.Input[0]);
        bool squaresD = square != null && square.Input[0] == d
            && (square.OpType == "Pow" || (square.OpType == "Mul" && square.Input[1] == d));
        if (!squaresD) return null;

        // (...) * gamma + beta, with either operand order.
        var mul = graph.Consumers(div.Output[0]).FirstOrDefault(n => n.OpType == "Mul");
        var gamma = mul?.OtherInput(div.Output[0]) is { } g ? graph.Constant(g) : null;
        if (mul == null || gamma == null) return null;
        var add = graph.Consumers(mul.Output[0]).FirstOrDefault(n => n.OpType == "Add");
        var beta = add?.OtherInput(mul.Output[0]) is { } b ? graph.Constant(b) : null;
        var gammaValues = OnnxTensors.Floats(gamma);
        if (add == null || beta == null)
            return new LayerNormPart(x, mul.Output[0], gamma.Name, gammaValues, null, new float[gammaValues.Length], OnnxTensors.Scalar(epsValue));
        return new LayerNormPart(x, add.Output[0], gamma.Name, gammaValues, beta.Name, OnnxTensors.Floats(beta), OnnxTensors.Scalar(epsValue));
    }
}
