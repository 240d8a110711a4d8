using Google.Protobuf;
using Microsoft.ML.Peft.Onnx;
using Onnx;

namespace Microsoft.ML.Peft.Tests.Onnx;

/// <summary>Graphs that are not BERT fail with a message naming the structure that was not found.</summary>
public class NotBertGraphTests : IClassFixture<MiniLmFixture>
{
    readonly MiniLmFixture _fx;
    public NotBertGraphTests(MiniLmFixture fx) => _fx = fx;

    static ValueInfoProto Value(string name, int elemType) =>
        new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType } } };

    [Fact]
    public void A_single_MatMul_graph_is_rejected_with_a_clear_message()
    {
        var weight = new TensorProto { Name = "w", DataType = 1, RawData = ByteString.CopyFrom(new byte[4 * 4 * 4]) };
        weight.Dims.Add(new long[] { 4, 4 });
        var graph = new GraphProto { Name = "one_matmul" };
        graph.Input.Add(Value("x", 1));
        graph.Output.Add(Value("y", 1));
        graph.Initializer.Add(weight);
        graph.Node.Add(new NodeProto { OpType = "MatMul", Name = "mm", Input = { "x", "w" }, Output = { "y" } });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 17 });

        string dir = Path.Combine(Path.GetTempPath(), "peft-onnx-notbert-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "one_matmul.onnx");
            File.WriteAllBytes(path, model.ToByteArray());
            File.WriteAllText(Path.Combine(dir, "vocab.txt"), "[PAD]\n");
            var error = Assert.Throws<OnnxGraphMismatchException>(() =>
                BertOnnxImporter.ImportFolder(path, Path.Combine(dir, "vocab.txt"), Path.Combine(dir, "out")));
            Assert.Equal("embeddings: no Gather of an embedding table on 'x'.", error.Message);
            // Nothing half-written: neither the folder nor a temporary sibling.
            Assert.Equal(new[] { "one_matmul.onnx", "vocab.txt" }, Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_layer_without_Softmax_names_the_layer()
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_fx.OnnxPath));
        // The fourth Softmax belongs to layer 3; make it something else.
        model.Graph.Node.Where(n => n.OpType == "Softmax").ElementAt(3).OpType = "Sigmoid";
        var error = Assert.Throws<OnnxGraphMismatchException>(() => BertOnnxImporter.Read(model));
        Assert.Equal("layer 3: no Softmax after the QK^T MatMul.", error.Message);
    }

    [Fact]
    public void A_layer_without_GELU_names_the_layer()
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_fx.OnnxPath));
        model.Graph.Node.Where(n => n.OpType == "Erf").ElementAt(1).OpType = "Tanh";
        var error = Assert.Throws<OnnxGraphMismatchException>(() => BertOnnxImporter.Read(model));
        Assert.Equal("layer 1: no GELU (Erf-based or fused) between the FFN-in and FFN-out MatMuls.", error.Message);
    }

    [Fact]
    public void ImportFolder_writes_a_loadable_folder_from_any_path()
    {
        string dir = Path.Combine(Path.GetTempPath(), "peft-onnx-import-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var model = BertOnnxImporter.ImportFolder(_fx.OnnxPath, Path.Combine(_fx.Folder, "vocab.txt"), dir);
            Assert.Equal(103, model.Tensors.Count);
            Assert.True(model.HasPooler);
            Assert.Equal(new[] { "config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt" },
                         Directory.GetFiles(dir).Select(Path.GetFileName).Order());
            Assert.Equal(File.ReadAllBytes(Path.Combine(_fx.Folder, "model.safetensors")), File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
            Assert.Throws<IOException>(() => BertOnnxImporter.ImportFolder(_fx.OnnxPath, Path.Combine(_fx.Folder, "vocab.txt"), dir));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
