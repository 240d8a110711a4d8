using Microsoft.ML.Peft.Onnx.Graph;

namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// Recognises the BERT feed-forward block after the attention LayerNorm: Linear (intermediate), GELU
/// (Erf-based <c>x * 0.5 * (1 + erf(x / sqrt 2))</c>, a fused Gelu/BiasGelu, or the tanh approximation),
/// Linear (output), residual Add with the attention LayerNorm output, LayerNorm.
/// </summary>
internal static class FeedForwardMatcher
{
    /// <summary>Ops inside a GELU subgraph, exact or approximate, decomposed or fused.</summary>
    static readonly HashSet<string> GeluOps = new() { "Div", "Mul", "Add", "Erf", "Pow", "Tanh", "Sigmoid", "Cast", "Gelu", "FastGelu", "BiasGelu" };

    /// <summary>The result of matching the FFN for one layer; <see cref="Activation"/> uses HF hidden_act names.</summary>
    internal sealed record Result(LinearPart Intermediate, string Activation, LinearPart Output, LayerNormPart Norm);

    public static Result Match(OnnxGraph graph, int layer, string attentionNorm)
    {
        Exception Fail(string what) => new OnnxGraphMismatchException($"layer {layer}: {what}.");

        var intermediates = LinearMatcher.AllFrom(graph, attentionNorm);
        if (intermediates.Count != 1)
            throw Fail($"expected one FFN-in MatMul after the attention LayerNorm, found {intermediates.Count}");
        var intermediate = intermediates[0];
        // ORT's fused BiasGelu(x, bias) carries the FFN-in bias itself instead of a separate Add.
        if (intermediate.BiasSource == null
            && graph.Consumers(intermediate.Output).FirstOrDefault(n => n.OpType == "BiasGelu") is { } biasGelu
            && graph.Constant(biasGelu.Input[1]) is { } geluBias && OnnxTensors.Floats(geluBias) is var b && b.Length == intermediate.OutFeatures)
            intermediate = intermediate with { BiasSource = geluBias.Name, Bias = b };

        var passed = new HashSet<string>();
        LinearPart? output = null;
        GraphWalks.FindForward(graph, intermediate.Output, GeluOps, n =>
        {
            if (!n.IsMatMulLike()) return false;
            output = LinearMatcher.Match(graph, n, n.Input[0]);
            return output != null;
        }, maxDepth: 10, passed);
        if (output == null)
            throw Fail("no FFN-out MatMul after the FFN-in MatMul and its activation");

        string activation =
            passed.Contains("Erf") || passed.Contains("Gelu:none") || passed.Contains("BiasGelu") ? "gelu"
            : passed.Contains("FastGelu") || passed.Contains("Gelu:tanh") || (passed.Contains("Tanh") && passed.Contains("Pow")) ? "gelu_new"
            : throw Fail("no GELU (Erf-based or fused) between the FFN-in and FFN-out MatMuls");

        var norm = AttentionMatcher.ResidualNorm(graph, output.Output, attentionNorm)
            ?? throw Fail("no residual Add + LayerNorm after the FFN-out MatMul");
        return new Result(intermediate, activation, output, norm);
    }
}
