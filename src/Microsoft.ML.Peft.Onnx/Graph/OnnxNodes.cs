using Onnx;

namespace Microsoft.ML.Peft.Onnx.Graph;

/// <summary>Attribute accessors and small structural predicates on ONNX nodes.</summary>
internal static class OnnxNodes
{
    /// <summary>An integer attribute, or <paramref name="fallback"/> when the node does not set it.</summary>
    public static long Int(this NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    /// <summary>A float attribute, or <paramref name="fallback"/> when the node does not set it.</summary>
    public static float Float(this NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    /// <summary>A string attribute, or <paramref name="fallback"/> when the node does not set it.</summary>
    public static string String(this NodeProto node, string name, string fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.S.ToStringUtf8() : fallback;

    /// <summary>An integer-list attribute, or null when the node does not set it.</summary>
    public static IReadOnlyList<long>? Ints(this NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name)?.Ints;

    /// <summary>True for MatMul or Gemm, the two ways exporters write a Linear layer.</summary>
    public static bool IsMatMulLike(this NodeProto node) => node.OpType is "MatMul" or "Gemm";

    /// <summary>
    /// The other input of a binary node, given one of its inputs; null when <paramref name="input"/>
    /// is not one of exactly two inputs.
    /// </summary>
    public static string? OtherInput(this NodeProto node, string input)
    {
        if (node.Input.Count != 2) return null;
        if (node.Input[0] == input) return node.Input[1];
        if (node.Input[1] == input) return node.Input[0];
        return null;
    }
}
