namespace Microsoft.ML.Peft.Onnx;

/// <summary>One weight of the imported model, in PyTorch layout under its Hugging Face name.</summary>
/// <param name="Name">Hugging Face <c>BertModel.state_dict()</c> name, e.g. <c>encoder.layer.0.attention.self.query.weight</c>.</param>
/// <param name="Source">The ONNX initializer it came from (empty when synthesised, e.g. a zero bias of a bias-less MatMul).</param>
/// <param name="Shape">PyTorch shape; Linear weights are [out, in].</param>
/// <param name="Data">Row-major float32 values.</param>
/// <param name="Transposed">True when the ONNX initializer was [in, out] and was transposed to [out, in].</param>
public sealed record ImportedTensor(string Name, string Source, long[] Shape, float[] Data, bool Transposed);

/// <summary>A BERT model read from ONNX: its inferred configuration and its weights under Hugging Face names.</summary>
/// <param name="Config">The inferred configuration.</param>
/// <param name="Tensors">The weights, in <c>BertModel.state_dict()</c> order.</param>
public sealed record BertOnnxModel(BertOnnxConfig Config, IReadOnlyList<ImportedTensor> Tensors)
{
    /// <summary>True when the graph has the pooler (dense + Tanh on the first token).</summary>
    public bool HasPooler => Tensors.Any(t => t.Name == "pooler.dense.weight");

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public ImportedTensor this[string name] =>
        Tensors.FirstOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"No imported tensor is named '{name}'.");
}
