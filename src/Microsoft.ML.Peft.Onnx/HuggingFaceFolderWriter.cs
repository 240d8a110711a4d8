using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Checkpoints;
using TorchSharp;

namespace Microsoft.ML.Peft.Onnx;

/// <summary>
/// Writes the files of a Hugging Face BERT folder (<c>config.json</c>, <c>model.safetensors</c>,
/// <c>vocab.txt</c>, <c>tokenizer_config.json</c>) into a directory, and publishes a directory atomically.
/// </summary>
internal static class HuggingFaceFolderWriter
{
    /// <summary>Writes the folder's files into the existing, empty <paramref name="directory"/>.</summary>
    public static void WriteInto(string directory, BertOnnxModel model, string vocabPath, BertTokenizerSettings tokenizer)
    {
        File.WriteAllText(Path.Combine(directory, "config.json"), model.Config.ToJson());
        WriteWeights(Path.Combine(directory, "model.safetensors"), model);
        WriteVocab(vocabPath, Path.Combine(directory, "vocab.txt"), model.Config.VocabSize);
        var tokenizerJson = new JsonObject
        {
            ["tokenizer_class"] = "BertTokenizer",
            ["do_lower_case"] = tokenizer.DoLowerCase,
            ["strip_accents"] = null,
            ["tokenize_chinese_chars"] = true,
            ["model_max_length"] = tokenizer.ModelMaxLength,
            ["unk_token"] = "[UNK]", ["sep_token"] = "[SEP]", ["pad_token"] = "[PAD]",
            ["cls_token"] = "[CLS]", ["mask_token"] = "[MASK]",
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), tokenizerJson.ToJsonString(new() { WriteIndented = true }));
    }

    /// <summary>
    /// Builds a folder with <paramref name="fill"/> in a temporary sibling of <paramref name="destination"/>
    /// and renames it into place, so readers never see a half-written folder and a failure leaves nothing behind.
    /// </summary>
    public static void Publish(string destination, bool overwrite, Action<string> fill)
    {
        destination = Path.GetFullPath(destination);
        string parent = Path.GetDirectoryName(destination) ?? throw new ArgumentException("The destination has no parent folder.", nameof(destination));
        Directory.CreateDirectory(parent);
        if (Directory.Exists(destination) && !overwrite)
            throw new IOException($"'{destination}' already exists; pass overwrite: true to replace it.");
        // A sibling, so the final rename stays on one file system and is atomic.
        string temp = destination + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(temp);
        try
        {
            fill(temp);
            if (Directory.Exists(destination)) Directory.Delete(destination, recursive: true);
            Directory.Move(temp, destination);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    static void WriteWeights(string path, BertOnnxModel model)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = model.Tensors.Select(t => KeyValuePair.Create(t.Name, torch.tensor(t.Data, t.Shape)));
        SafeTensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["source"] = "onnx" });
    }

    /// <summary>
    /// Copies the vocabulary one token per line with '\n' endings (the package ships CRLF, and a stray '\r'
    /// would become part of every token in tokenizers that split on '\n' only), checking its size.
    /// </summary>
    static void WriteVocab(string source, string destination, int vocabSize)
    {
        var lines = File.ReadAllLines(source, Encoding.UTF8).ToList();
        while (lines.Count > vocabSize && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (lines.Count != vocabSize)
            throw new InvalidDataException($"'{source}' has {lines.Count} tokens but the model's word embeddings have {vocabSize} rows.");
        using var writer = new StreamWriter(destination, false, new UTF8Encoding(false)) { NewLine = "\n" };
        foreach (var line in lines) writer.WriteLine(line);
    }
}
