using Microsoft.ML.Peft.Onnx;
using Onnx;

namespace Microsoft.ML.Peft.Tests.Onnx;

/// <summary>
/// Exporters at opset 17+ write LayerNormalization nodes, and at opset 20 Gelu nodes, instead of the
/// decomposed subgraphs of the MiniLM export. Rewriting MiniLM that way must import to the same weights.
/// </summary>
public class FusedVariantTests : IClassFixture<MiniLmFixture>
{
    readonly MiniLmFixture _fx;
    public FusedVariantTests(MiniLmFixture fx) => _fx = fx;

    [Fact]
    public void Fused_LayerNormalization_and_Gelu_import_to_the_same_weights()
    {
        var original = BertOnnxImporter.Read(_fx.OnnxPath);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_fx.OnnxPath));
        var nodes = model.Graph.Node;
        NodeProto Producer(string value) => nodes.Single(n => n.Output.Contains(value));

        // d = x - mean(x); y = d / sqrt(mean(d^2) + eps) * gamma + beta   ->   LayerNormalization(x, gamma, beta)
        int fusedNorms = 0;
        foreach (var add in nodes.Where(n => n.OpType == "Add" && n.Input.Any(i => i.EndsWith("LayerNorm.bias"))).ToList())
        {
            var mul = Producer(add.Input[0]);
            var div = Producer(mul.Input[0]);
            var sub = Producer(div.Input[0]);
            var sqrt = Producer(div.Input[1]);
            var addEps = Producer(sqrt.Input[0]);
            var mean2 = Producer(addEps.Input[0]);
            var pow = Producer(mean2.Input[0]);
            var mean1 = Producer(sub.Input[1]);
            float eps = BitConverter.ToSingle(Producer(addEps.Input[1]).Attribute[0].T.RawData.ToByteArray());
            var fused = new NodeProto { OpType = "LayerNormalization", Name = "LN_" + fusedNorms++,
                                        Input = { sub.Input[0], mul.Input[1], add.Input[1] }, Output = { add.Output[0] } };
            fused.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = -1 });
            fused.Attribute.Add(new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = eps });
            nodes.Insert(nodes.IndexOf(add), fused);
            foreach (var n in new[] { add, mul, div, sub, sqrt, addEps, mean2, pow, mean1 }) nodes.Remove(n);
        }
        Assert.Equal(13, fusedNorms);

        // x * 0.5 * (1 + erf(x / sqrt 2))   ->   Gelu(x)
        foreach (var erf in nodes.Where(n => n.OpType == "Erf").ToList())
        {
            var div = Producer(erf.Input[0]);
            var plusOne = nodes.Single(n => n.Input.Contains(erf.Output[0]));
            var times = nodes.Single(n => n.Input.Contains(plusOne.Output[0]));
            var half = nodes.Single(n => n.Input.Contains(times.Output[0]));
            nodes.Insert(nodes.IndexOf(div), new NodeProto { OpType = "Gelu", Input = { div.Input[0] }, Output = { half.Output[0] } });
            foreach (var n in new[] { div, erf, plusOne, times, half }) nodes.Remove(n);
        }
        Assert.DoesNotContain(nodes, n => n.OpType is "Erf" or "Sqrt");

        var rewritten = BertOnnxImporter.Read(model);
        Assert.Equal(original.Config, rewritten.Config);
        Assert.Equal(original.Tensors.Select(t => t.Name), rewritten.Tensors.Select(t => t.Name));
        foreach (var (a, b) in original.Tensors.Zip(rewritten.Tensors))
        {
            Assert.Equal(a.Shape, b.Shape);
            Assert.True(a.Data.AsSpan().SequenceEqual(b.Data), $"{a.Name} differs after fusing");
        }
    }
}
