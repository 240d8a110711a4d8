namespace Microsoft.ML.Peft.Onnx;

/// <summary>What goes into <c>tokenizer_config.json</c> next to an imported WordPiece <c>vocab.txt</c>.</summary>
/// <param name="DoLowerCase">True for uncased models (lower-case and strip accents before WordPiece).</param>
/// <param name="ModelMaxLength">Longest input in tokens, usually the number of position embeddings.</param>
public sealed record BertTokenizerSettings(bool DoLowerCase = true, int ModelMaxLength = 512);
