using System.Text.Json;
using Microsoft.ML.Peft.Onnx;
using Onnx;
using Xunit.Abstractions;

namespace Microsoft.ML.Peft.Tests.Onnx;

public class MiniLmImportTests : IClassFixture<MiniLmFixture>
{
    readonly MiniLmFixture _fx;
    readonly ITestOutputHelper _out;

    public MiniLmImportTests(MiniLmFixture fx, ITestOutputHelper output) => (_fx, _out) = (fx, output);

    static List<string> ExpectedKeys(int layers)
    {
        var keys = new List<string>
        {
            "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight",
            "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
        };
        for (int i = 0; i < layers; i++)
            foreach (var m in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                                      "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm" })
                keys.AddRange(new[] { $"encoder.layer.{i}.{m}.weight", $"encoder.layer.{i}.{m}.bias" });
        keys.AddRange(new[] { "pooler.dense.weight", "pooler.dense.bias" });
        return keys;
    }

    [Fact]
    public void Config_has_the_MiniLM_values_and_HF_field_names()
    {
        _out.WriteLine($"first conversion took {_fx.ConversionSeconds:F2} s");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_fx.Folder, "config.json")));
        var c = doc.RootElement;
        Assert.Equal("bert", c.GetProperty("model_type").GetString());
        Assert.Equal("BertModel", c.GetProperty("architectures")[0].GetString());
        Assert.Equal(30522, c.GetProperty("vocab_size").GetInt32());
        Assert.Equal(384, c.GetProperty("hidden_size").GetInt32());
        Assert.Equal(6, c.GetProperty("num_hidden_layers").GetInt32());
        Assert.Equal(12, c.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(1536, c.GetProperty("intermediate_size").GetInt32());
        Assert.Equal(512, c.GetProperty("max_position_embeddings").GetInt32());
        Assert.Equal(2, c.GetProperty("type_vocab_size").GetInt32());
        Assert.Equal(1e-12, c.GetProperty("layer_norm_eps").GetDouble());
        Assert.Equal("gelu", c.GetProperty("hidden_act").GetString());
        Assert.Equal(0, c.GetProperty("pad_token_id").GetInt32());
        Assert.Equal(0.1, c.GetProperty("hidden_dropout_prob").GetDouble());
        Assert.Equal(0.1, c.GetProperty("attention_probs_dropout_prob").GetDouble());
        Assert.Equal(0.02, c.GetProperty("initializer_range").GetDouble());
        Assert.Equal("absolute", c.GetProperty("position_embedding_type").GetString());

        using var tok = JsonDocument.Parse(File.ReadAllText(Path.Combine(_fx.Folder, "tokenizer_config.json")));
        Assert.True(tok.RootElement.GetProperty("do_lower_case").GetBoolean());
        Assert.Equal(512, tok.RootElement.GetProperty("model_max_length").GetInt32());
        Assert.Equal("BertTokenizer", tok.RootElement.GetProperty("tokenizer_class").GetString());

        var vocab = File.ReadAllText(Path.Combine(_fx.Folder, "vocab.txt"));
        Assert.DoesNotContain('\r', vocab);
        var lines = vocab.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(30522, lines.Length);
        Assert.Equal("[PAD]", lines[0]);
        Assert.Equal(101, Array.IndexOf(lines, "[CLS]"));
        Assert.True(File.Exists(_fx.OnnxPath));
    }

    [Fact]
    public void Safetensors_has_exactly_the_HF_BertModel_keys_and_shapes()
    {
        var names = _fx.Weights.Names;
        // 5 embedding tensors + 6 layers x 16 + 2 pooler tensors = 103 (101 without the pooler).
        Assert.Equal(103, names.Count);
        Assert.Equal(ExpectedKeys(6).OrderBy(k => k, StringComparer.Ordinal), names.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(new long[] { 30522, 384 }, _fx.Weights.Shape("embeddings.word_embeddings.weight"));
        Assert.Equal(new long[] { 512, 384 }, _fx.Weights.Shape("embeddings.position_embeddings.weight"));
        Assert.Equal(new long[] { 2, 384 }, _fx.Weights.Shape("embeddings.token_type_embeddings.weight"));
        for (int i = 0; i < 6; i++)
        {
            string p = $"encoder.layer.{i}.";
            Assert.Equal(new long[] { 384, 384 }, _fx.Weights.Shape(p + "attention.self.query.weight"));
            Assert.Equal(new long[] { 384, 384 }, _fx.Weights.Shape(p + "attention.self.key.weight"));
            Assert.Equal(new long[] { 384, 384 }, _fx.Weights.Shape(p + "attention.self.value.weight"));
            Assert.Equal(new long[] { 384, 384 }, _fx.Weights.Shape(p + "attention.output.dense.weight"));
            Assert.Equal(new long[] { 1536, 384 }, _fx.Weights.Shape(p + "intermediate.dense.weight"));
            Assert.Equal(new long[] { 1536 }, _fx.Weights.Shape(p + "intermediate.dense.bias"));
            Assert.Equal(new long[] { 384, 1536 }, _fx.Weights.Shape(p + "output.dense.weight"));
            Assert.Equal(new long[] { 384 }, _fx.Weights.Shape(p + "output.LayerNorm.weight"));
        }
        Assert.Equal(new long[] { 384, 384 }, _fx.Weights.Shape("pooler.dense.weight"));
        Assert.All(names, n => Assert.Equal("F32", _fx.Weights.DType(n)));
    }

    [Fact]
    public void Embeddings_are_copied_and_MatMul_weights_transposed()
    {
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_fx.OnnxPath)).Graph;
        float[] Init(string name) => graph.Initializer.Single(t => t.Name == name).RawData.ToByteArray() is var b
            ? Enumerable.Range(0, b.Length / 4).Select(i => BitConverter.ToSingle(b, 4 * i)).ToArray() : throw new InvalidOperationException();

        // Word embeddings: no transpose, row 2023 identical.
        var onnxWord = Init("embeddings.word_embeddings.weight");
        var word = _fx.Weights.Floats("embeddings.word_embeddings.weight");
        Assert.Equal(onnxWord.AsSpan(2023 * 384, 384).ToArray(), word.AsSpan(2023 * 384, 384).ToArray());

        // Layer 1's FFN-in weight: the MatMul whose bias Add uses the (HF-named) intermediate bias; [384,1536] in ONNX.
        var add = graph.Node.Single(n => n.OpType == "Add" && n.Input.Contains("encoder.layer.1.intermediate.dense.bias"));
        var matmul = graph.Node.Single(n => n.OpType == "MatMul" && add.Input.Contains(n.Output[0]));
        var onnxW = Init(matmul.Input[1]);
        var w = _fx.Weights.Floats("encoder.layer.1.intermediate.dense.weight");
        for (int o = 0; o < 1536; o += 97)
            for (int i = 0; i < 384; i += 13)
                Assert.Equal(onnxW[i * 1536 + o], w[o * 384 + i]);

        // The pooler is a Gemm with transB=1: already [out, in], copied as is.
        Assert.Equal(Init("pooler.dense.weight"), _fx.Weights.Floats("pooler.dense.weight"));
    }

    [Fact]
    public void Second_call_reuses_the_cache_without_converting()
    {
        string marker = Path.Combine(_fx.Folder, ".peft-onnx-import.json");
        var before = (File.GetLastWriteTimeUtc(Path.Combine(_fx.Folder, "model.safetensors")), File.GetLastWriteTimeUtc(marker));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(_fx.Folder, MiniLmL6V2.EnsureDownloaded(_fx.CacheRoot));
        _out.WriteLine($"cached call took {watch.Elapsed.TotalMilliseconds:F1} ms");
        var after = (File.GetLastWriteTimeUtc(Path.Combine(_fx.Folder, "model.safetensors")), File.GetLastWriteTimeUtc(marker));
        Assert.Equal(before, after);
        Assert.True(watch.Elapsed.TotalSeconds < 1, "a cached call must not convert again");
    }
}
