using Microsoft.ML.Peft.Onnx.Graph;
using Onnx;

namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// Recognises a Linear layer: MatMul(x, W) optionally followed by Add(bias), or Gemm(x, W, bias).
/// ONNX MatMul weights are [in, out] (x @ W), PyTorch Linear weights are [out, in], so MatMul weights are
/// transposed here; Gemm with transB=1 already holds [out, in] (that is how torch exports nn.Linear on 2-D input).
/// </summary>
internal static class LinearMatcher
{
    /// <summary>
    /// The Linear layer that starts at <paramref name="node"/> reading <paramref name="input"/>, or null when
    /// the node is not a MatMul/Gemm of <paramref name="input"/> by a constant 2-D weight.
    /// </summary>
    public static LinearPart? Match(OnnxGraph graph, NodeProto node, string input)
    {
        if (!node.IsMatMulLike() || node.Input.Count < 2 || node.Input[0] != input) return null;
        var weight = graph.Constant(node.Input[1]);
        if (weight == null || weight.Dims.Count != 2 || !OnnxTensors.IsFloating(weight)) return null;
        int rows = (int)weight.Dims[0], cols = (int)weight.Dims[1];
        var data = OnnxTensors.Floats(weight);

        bool transposed;
        int inFeatures, outFeatures;
        string output = node.Output[0];
        string? biasSource = null;
        float[]? bias = null;
        if (node.OpType == "Gemm")
        {
            if (node.Int("transA", 0) != 0 || node.Float("alpha", 1f) != 1f || node.Float("beta", 1f) != 1f) return null;
            bool transB = node.Int("transB", 0) != 0;
            (inFeatures, outFeatures) = transB ? (cols, rows) : (rows, cols);
            transposed = !transB;
            if (node.Input.Count > 2 && node.Input[2].Length > 0)
            {
                var c = graph.Constant(node.Input[2]);
                if (c == null || OnnxTensors.Floats(c).Length != outFeatures) return null;
                (biasSource, bias) = (c.Name, OnnxTensors.Floats(c));
            }
        }
        else
        {
            (inFeatures, outFeatures) = (rows, cols);
            transposed = true;
            // The bias is a separate Add whose other operand is a constant vector of the output width.
            var consumers = graph.Consumers(output);
            if (consumers.Count == 1 && consumers[0].OpType == "Add" && consumers[0].OtherInput(output) is { } other
                && graph.Constant(other) is { } b && OnnxTensors.IsFloating(b) && b.Dims.Aggregate(1L, (p, d) => p * d) == outFeatures)
            {
                (biasSource, bias, output) = (b.Name, OnnxTensors.Floats(b), consumers[0].Output[0]);
            }
        }

        var pytorchWeight = transposed ? OnnxTensors.Transpose(data, rows, cols) : data;
        // A Linear exported without bias is the same function as one with a zero bias; BERT names always have one.
        return new LinearPart(input, output, weight.Name, pytorchWeight, inFeatures, outFeatures,
                              biasSource, bias ?? new float[outFeatures], transposed);
    }

    /// <summary>All Linear layers that read <paramref name="input"/> directly.</summary>
    public static List<LinearPart> AllFrom(OnnxGraph graph, string input) =>
        graph.Consumers(input).Select(n => Match(graph, n, input)).OfType<LinearPart>().ToList();
}
