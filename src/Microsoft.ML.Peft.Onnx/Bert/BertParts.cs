namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// A Linear layer found in the graph, already in PyTorch layout: <see cref="Weight"/> is [out, in] row-major.
/// The source names are the ONNX initializer names, kept for diagnostics.
/// </summary>
internal sealed record LinearPart(string Input, string Output, string WeightSource, float[] Weight,
                                  int InFeatures, int OutFeatures, string? BiasSource, float[] Bias, bool Transposed);

/// <summary>A LayerNorm found in the graph (fused or decomposed), with its scale, shift and epsilon.</summary>
internal sealed record LayerNormPart(string Input, string Output, string GammaSource, float[] Gamma,
                                     string? BetaSource, float[] Beta, float Epsilon);

/// <summary>An embedding table (the data input of a Gather), stored [rows, hidden] in ONNX and in PyTorch alike.</summary>
internal sealed record EmbeddingPart(string Source, float[] Table, long Rows, long Hidden);

/// <summary>The embedding block: three tables summed, then LayerNorm.</summary>
internal sealed record EmbeddingsMatch(EmbeddingPart Word, EmbeddingPart Position, EmbeddingPart TokenType, LayerNormPart Norm);

/// <summary>One encoder layer: self-attention, its residual LayerNorm, the FFN and its residual LayerNorm.</summary>
internal sealed record EncoderLayerMatch(LinearPart Query, LinearPart Key, LinearPart Value, int Heads,
                                         LinearPart AttentionOutput, LayerNormPart AttentionNorm,
                                         LinearPart Intermediate, string Activation, LinearPart Output, LayerNormPart OutputNorm);

/// <summary>The whole BERT graph as matched: embeddings, layers and the optional pooler (dense + Tanh on token 0).</summary>
internal sealed record BertMatch(EmbeddingsMatch Embeddings, IReadOnlyList<EncoderLayerMatch> Layers, LinearPart? Pooler);
