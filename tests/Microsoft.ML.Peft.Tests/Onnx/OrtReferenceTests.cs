using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;
using F = TorchSharp.torch.nn.functional;

namespace Microsoft.ML.Peft.Tests.Onnx;

/// <summary>
/// Checks the mapping numerically: ONNX Runtime runs the original model with the first layer's attention
/// scores and context exposed as extra outputs, and a plain TorchSharp BERT forward over the imported
/// safetensors must reproduce them. Swapping Q and K transposes the scores, a wrong V changes the context,
/// and any other misplaced weight changes the last hidden state or the pooler output.
/// </summary>
public class OrtReferenceTests : IClassFixture<MiniLmFixture>
{
    readonly MiniLmFixture _fx;
    public OrtReferenceTests(MiniLmFixture fx) => _fx = fx;

    static readonly long[] Ids = { 101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102 };
    static readonly long[] TokenTypes = { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1 };

    [Fact]
    public void Imported_weights_reproduce_ORT_scores_context_and_outputs()
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_fx.OnnxPath));
        var g = model.Graph;
        // Found by op type alone, independent of the importer: the first Softmax and the MatMul reading it.
        var softmax = g.Node.First(n => n.OpType == "Softmax");
        var context = g.Node.First(n => n.OpType == "MatMul" && n.Input[0] == softmax.Output[0]);
        string scoresName = softmax.Input[0], contextName = context.Output[0], poolerName = g.Output[1].Name;
        foreach (var name in new[] { scoresName, contextName })
            g.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });

        int n = Ids.Length;
        using var session = new InferenceSession(model.ToByteArray());
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(Ids, new[] { 1, n })),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, n).ToArray(), new[] { 1, n })),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(TokenTypes, new[] { 1, n })),
        };
        using var results = session.Run(inputs);
        float[] Out(string name) => results.Single(r => r.Name == name).AsEnumerable<float>().ToArray();

        using var scope = NewDisposeScope();
        Tensor W(string name) => torch.tensor(_fx.Weights.Floats(name), _fx.Weights.Shape(name));
        var ln = new long[] { 384 };
        var x = W("embeddings.word_embeddings.weight").index_select(0, torch.tensor(Ids))
              + W("embeddings.position_embeddings.weight").narrow(0, 0, n)
              + W("embeddings.token_type_embeddings.weight").index_select(0, torch.tensor(TokenTypes));
        x = F.layer_norm(x, ln, W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"), 1e-12);
        for (int i = 0; i < 6; i++)
        {
            string p = $"encoder.layer.{i}.";
            Tensor Heads(string m) => F.linear(x, W(p + m + ".weight"), W(p + m + ".bias")).view(n, 12, 32).transpose(0, 1);
            var q = Heads("attention.self.query");
            var k = Heads("attention.self.key");
            var v = Heads("attention.self.value");
            var scores = q.matmul(k.transpose(1, 2)) / Math.Sqrt(32);
            var ctx = F.softmax(scores, -1).matmul(v);
            if (i == 0)
            {
                AssertClose(Out(scoresName), scores, 1e-4f, "layer 0 attention scores (Q·K^T/√d)");
                AssertClose(Out(contextName), ctx, 1e-4f, "layer 0 attention context (softmax·V)");
            }
            var attn = F.linear(ctx.transpose(0, 1).reshape(n, 384), W(p + "attention.output.dense.weight"), W(p + "attention.output.dense.bias"));
            x = F.layer_norm(attn + x, ln, W(p + "attention.output.LayerNorm.weight"), W(p + "attention.output.LayerNorm.bias"), 1e-12);
            var h = F.gelu(F.linear(x, W(p + "intermediate.dense.weight"), W(p + "intermediate.dense.bias")));
            var o = F.linear(h, W(p + "output.dense.weight"), W(p + "output.dense.bias"));
            x = F.layer_norm(o + x, ln, W(p + "output.LayerNorm.weight"), W(p + "output.LayerNorm.bias"), 1e-12);
        }
        AssertClose(Out("last_hidden_state"), x, 1e-3f, "last_hidden_state");
        var pooled = F.linear(x.narrow(0, 0, 1), W("pooler.dense.weight"), W("pooler.dense.bias")).tanh();
        AssertClose(Out(poolerName), pooled, 1e-3f, "pooler output");
    }

    static void AssertClose(float[] expected, Tensor actual, float tolerance, string what)
    {
        var values = actual.contiguous().reshape(-1).data<float>().ToArray();
        Assert.Equal(expected.Length, values.Length);
        float worst = 0;
        for (int i = 0; i < values.Length; i++) worst = Math.Max(worst, Math.Abs(values[i] - expected[i]));
        Assert.True(worst < tolerance, $"{what}: max |difference| {worst} exceeds {tolerance}");
    }
}
