using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Quantization;
using Microsoft.ML.Peft.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft;

/// <summary>
/// A pretrained transformer in a Hugging Face style folder: <c>config.json</c> (its <c>model_type</c> picks the
/// architecture), <c>model.safetensors</c> or a sharded <c>model.safetensors.index.json</c>, and tokenizer files.
/// Opening it reads the configuration and the tokenizer and validates the checkpoint's header; weights are
/// read each time a model is created, strictly (a missing, unexpected or mis-shaped key is an error naming it).
/// </summary>
public sealed class PretrainedModel
{
    /// <summary>Values of <c>model_type</c> this version can load.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = new[] { "bert", "roberta" };

    PretrainedModel(string directory, BertConfig config, TransformerTokenizer tokenizer)
    {
        Directory = directory;
        Config = config;
        Tokenizer = tokenizer;
    }

    /// <summary>The folder the model was read from.</summary>
    public string Directory { get; }

    /// <summary>The architecture, as <c>config.json</c> states it.</summary>
    public BertConfig Config { get; }

    /// <summary><c>config.json</c>'s <c>model_type</c>.</summary>
    public string ModelType => Config.ModelType;

    /// <summary>The tokenizer of the folder.</summary>
    public TransformerTokenizer Tokenizer { get; }

    /// <summary>Opens a Hugging Face style model folder.</summary>
    /// <param name="path">The folder.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c>, the weights or the tokenizer files are missing.</exception>
    /// <exception cref="NotSupportedException"><c>model_type</c> is not one of <see cref="SupportedModelTypes"/>.</exception>
    public static PretrainedModel FromDirectory(string path)
    {
        if (!System.IO.Directory.Exists(path)) throw new DirectoryNotFoundException($"Model folder not found: {path}");
        var config = ReadConfig(path);
        using (SafeTensorsCheckpoint.Open(path)) { }  // fail now, naming the file, if the weights are missing or corrupt
        return new PretrainedModel(Path.GetFullPath(path), config, TokenizerLoader.FromDirectory(path, config.ModelType));
    }

    /// <summary>Creates the encoder with the pretrained weights.</summary>
    /// <param name="device">Where to put it; the CPU when null.</param>
    /// <param name="dtype">Parameter type, e.g. <see cref="ScalarType.BFloat16"/> for fast CPU inference; float32 when null.</param>
    public BertModel LoadEncoder(Device? device = null, ScalarType? dtype = null)
    {
        var model = new BertModel(Config, addPoolingLayer: HasPooler());
        return LoadWeights(model, device, dtype, ignoreUnexpected: new[] { "cls.", "classifier." });
    }

    /// <summary>
    /// Creates the architecture's sequence classifier (BERT: pooler + dropout + <c>classifier</c>; RoBERTa:
    /// <c>classifier.dense</c> + <c>classifier.out_proj</c>) with the pretrained encoder and a fresh head,
    /// unless the checkpoint already holds a head of <paramref name="numLabels"/> classes.
    /// </summary>
    /// <param name="numLabels">Number of classes.</param>
    /// <param name="device">Where to put it; the CPU when null.</param>
    /// <param name="dtype">Parameter type; float32 when null (4-bit layers keep their codes and cast only their bias).</param>
    /// <param name="quantization">
    /// When given, the encoder's linear layers are loaded straight into 4-bit <c>Linear4bit</c> layers (QLoRA's frozen
    /// base), tensor by tensor while reading the checkpoint; the head stays full precision. Null loads everything as is.
    /// </param>
    public nn.Module LoadSequenceClassifier(int numLabels, Device? device = null, ScalarType? dtype = null, QuantizationOptions? quantization = null)
    {
        nn.Module Create() => Config.IsRoberta
            ? new RobertaForSequenceClassification(Config, numLabels)
            : new BertForSequenceClassification(Config, numLabels);
        // 4-bit: the encoder's Linear layers are built on the meta device and filled straight from the checkpoint.
        nn.Module model = quantization is null ? Create() : QuantizedCheckpointLoader.Construct(Create);
        // Pre-training heads (cls.*) have no use here; RoBERTa classifiers have no pooler, as in HF.
        return LoadWeights(model, device, dtype, mayBeMissing: new[] { "classifier." }, ignoreUnexpected: new[] { "cls.", "pooler." }, quantization);
    }

    T LoadWeights<T>(T model, Device? device, ScalarType? dtype,
                     IReadOnlyList<string>? mayBeMissing = null, IReadOnlyList<string>? ignoreUnexpected = null,
                     QuantizationOptions? quantization = null) where T : nn.Module
    {
        try
        {
            using var checkpoint = SafeTensorsCheckpoint.Open(Directory);
            var loadOptions = new StateDictLoadOptions
            {
                AllowMissing = mayBeMissing ?? Array.Empty<string>(),
                IgnoreUnexpected = ignoreUnexpected ?? Array.Empty<string>(),
            };
            if (quantization is null) StateDictLoader.Load(model, checkpoint, loadOptions);
            else QuantizedCheckpointLoader.Load(model, checkpoint, quantization, loadOptions);
            if (dtype is ScalarType type) model.to(type);
            if (device is not null) model.to(device);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    bool HasPooler()
    {
        using var checkpoint = SafeTensorsCheckpoint.Open(Directory);
        return checkpoint.Keys.Any(k => k == "pooler.dense.weight" || k.EndsWith(".pooler.dense.weight", StringComparison.Ordinal));
    }

    static BertConfig ReadConfig(string folder)
    {
        string file = Path.Combine(folder, "config.json");
        if (!File.Exists(file)) throw new FileNotFoundException($"No config.json in {folder}.", file);
        BertConfig? config;
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            string? modelType = json.RootElement.TryGetProperty("model_type", out var t) ? t.GetString() : null;
            if (modelType is null || !SupportedModelTypes.Contains(modelType))
                throw new NotSupportedException(
                    $"{file}: model_type '{modelType ?? "(missing)"}' is not supported; supported: {string.Join(", ", SupportedModelTypes)}.");
            config = json.RootElement.Deserialize<BertConfig>();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file} is not valid JSON: {e.Message}", e);
        }
        if (config is null) throw new InvalidDataException($"{file} is empty.");
        try { config.Validate(); }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
        return config;
    }
}
