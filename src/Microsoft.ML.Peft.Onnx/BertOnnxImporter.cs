using Microsoft.ML.Peft.Onnx.Bert;
using Microsoft.ML.Peft.Onnx.Graph;
using Onnx;

namespace Microsoft.ML.Peft.Onnx;

/// <summary>
/// Imports BERT-family ONNX exports (BERT, MiniLM, ...) into Hugging Face folders. Weights are identified by
/// the graph's structure, never by initializer names, so exports with numeric weight names work too.
/// </summary>
public static class BertOnnxImporter
{
    /// <summary>Reads the weights and configuration of the BERT model in an ONNX file.</summary>
    /// <param name="onnxPath">The .onnx file (weights embedded, not in external data files).</param>
    /// <returns>The inferred configuration and the weights under Hugging Face names, in PyTorch layout.</returns>
    /// <exception cref="OnnxGraphMismatchException">The graph lacks a BERT structure; the message says which one.</exception>
    public static BertOnnxModel Read(string onnxPath)
    {
        using var stream = File.OpenRead(onnxPath);
        return Read(stream);
    }

    /// <summary>Reads the weights and configuration of the BERT model in an ONNX stream.</summary>
    /// <param name="onnx">A stream holding a serialized ONNX ModelProto.</param>
    /// <returns>The inferred configuration and the weights under Hugging Face names, in PyTorch layout.</returns>
    /// <exception cref="OnnxGraphMismatchException">The graph lacks a BERT structure; the message says which one.</exception>
    public static BertOnnxModel Read(Stream onnx) => Read(ModelProto.Parser.ParseFrom(onnx));

    /// <summary>Reads the weights and configuration of the BERT model in a parsed ONNX model.</summary>
    /// <param name="model">The ONNX model.</param>
    /// <returns>The inferred configuration and the weights under Hugging Face names, in PyTorch layout.</returns>
    /// <exception cref="OnnxGraphMismatchException">The graph lacks a BERT structure; the message says which one.</exception>
    public static BertOnnxModel Read(ModelProto model)
    {
        if (model.Graph == null || model.Graph.Node.Count == 0)
            throw new OnnxGraphMismatchException("the ONNX model has no graph nodes.");
        var match = BertGraphMatcher.Match(new OnnxGraph(model.Graph));
        return new BertOnnxModel(BertConfigInference.Infer(match), BertStateDict.Build(match));
    }

    /// <summary>
    /// Converts an ONNX BERT export and its WordPiece vocabulary into a Hugging Face folder with
    /// <c>config.json</c>, <c>model.safetensors</c>, <c>vocab.txt</c> and <c>tokenizer_config.json</c>.
    /// The folder is built under a temporary name and renamed into place, so a failure leaves nothing half-written.
    /// </summary>
    /// <param name="onnxPath">The .onnx file.</param>
    /// <param name="vocabPath">The WordPiece vocabulary, one token per line; its length must equal the vocabulary size.</param>
    /// <param name="outputFolder">The folder to create.</param>
    /// <param name="tokenizer">Tokenizer settings; defaults to uncased with <c>model_max_length</c> = the number of positions.</param>
    /// <param name="overwrite">Replace <paramref name="outputFolder"/> when it exists (otherwise that is an error).</param>
    /// <returns>The imported model (configuration and weights).</returns>
    /// <exception cref="OnnxGraphMismatchException">The graph lacks a BERT structure; the message says which one.</exception>
    public static BertOnnxModel ImportFolder(string onnxPath, string vocabPath, string outputFolder,
                                             BertTokenizerSettings? tokenizer = null, bool overwrite = false)
    {
        var model = Read(onnxPath);
        var settings = tokenizer ?? new BertTokenizerSettings(DoLowerCase: true, ModelMaxLength: model.Config.MaxPositionEmbeddings);
        HuggingFaceFolderWriter.Publish(outputFolder, overwrite, dir => HuggingFaceFolderWriter.WriteInto(dir, model, vocabPath, settings));
        return model;
    }
}
