using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Models.Llama;
using Microsoft.ML.Peft.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft;

/// <summary>
/// A pretrained decoder-only language model in a Hugging Face style folder: <c>config.json</c> (its
/// <c>model_type</c>, one of <see cref="SupportedModelTypes"/>, picks the architecture), <c>model.safetensors</c> or
/// a sharded <c>model.safetensors.index.json</c>, and tokenizer files (<c>tokenizer.json</c>, else <c>vocab.json</c> +
/// <c>merges.txt</c>, else <c>tokenizer.model</c>). Weights are read strictly each time a model is created: a missing,
/// unexpected or mis-shaped key is an error naming it. The counterpart of <see cref="PretrainedModel"/> for
/// encoders, kept apart until the two are unified.
/// </summary>
public sealed class PretrainedDecoder
{
    /// <summary>Values of <c>model_type</c> this version can load.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = new[] { "gpt2", "llama", "mistral", "qwen2" };

    readonly TransformerTokenizer? tokenizer;
    readonly string? tokenizerProblem;

    PretrainedDecoder(string directory, string modelType, Gpt2Config? gpt2, LlamaConfig? llama, TransformerTokenizer? tokenizer, string? tokenizerProblem)
    {
        Directory = directory;
        ModelType = modelType;
        Gpt2Config = gpt2;
        LlamaConfig = llama;
        this.tokenizer = tokenizer;
        this.tokenizerProblem = tokenizerProblem;
    }

    /// <summary>The folder the model was read from.</summary>
    public string Directory { get; }

    /// <summary><c>config.json</c>'s <c>model_type</c>.</summary>
    public string ModelType { get; }

    /// <summary>The architecture when <see cref="ModelType"/> is <c>gpt2</c>.</summary>
    public Gpt2Config? Gpt2Config { get; }

    /// <summary>The architecture when <see cref="ModelType"/> is <c>llama</c>, <c>mistral</c> or <c>qwen2</c>.</summary>
    public LlamaConfig? LlamaConfig { get; }

    /// <summary>Whether the folder holds a tokenizer this version can read.</summary>
    public bool HasTokenizer => tokenizer is not null;

    /// <summary>The folder's tokenizer.</summary>
    /// <exception cref="NotSupportedException">The folder has no tokenizer this version can read; the message says what it has.</exception>
    public TransformerTokenizer Tokenizer => tokenizer ?? throw new NotSupportedException(tokenizerProblem);

    /// <summary>Opens a Hugging Face style decoder folder: reads the configuration and tokenizer and checks that weights exist.</summary>
    /// <param name="path">The folder.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> or the weights are missing.</exception>
    /// <exception cref="NotSupportedException"><c>model_type</c> is not one of <see cref="SupportedModelTypes"/>.</exception>
    /// <exception cref="InvalidDataException"><c>config.json</c> is malformed or invalid; the message names the field.</exception>
    public static PretrainedDecoder FromDirectory(string path)
    {
        if (!System.IO.Directory.Exists(path)) throw new DirectoryNotFoundException($"Model folder not found: {path}");
        string file = Path.Combine(path, "config.json");
        if (!File.Exists(file)) throw new FileNotFoundException($"No config.json in {path}.", file);
        Gpt2Config? gpt2 = null;
        LlamaConfig? llama = null;
        string modelType;
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            modelType = json.RootElement.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "(missing)";
            if (!SupportedModelTypes.Contains(modelType))
                throw new NotSupportedException($"{file}: model_type '{modelType}' is not a supported decoder; supported: {string.Join(", ", SupportedModelTypes)}.");
            if (modelType == "gpt2") gpt2 = json.RootElement.Deserialize<Gpt2Config>() ?? throw new InvalidDataException($"{file} is empty.");
            else llama = json.RootElement.Deserialize<LlamaConfig>() ?? throw new InvalidDataException($"{file} is empty.");
            gpt2?.Validate();
            llama?.Validate();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file} is not a valid config: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException && !e.Message.StartsWith(file, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
        // transformers' generate() reads eos_token_id from generation_config.json (one id, or a list as in Llama 3
        // Instruct), which may differ from config.json's: the ids that end generation are that file's.
        var generationEos = ModelTokenIds.Load(path).Eos;
        if (generationEos.Count > 0)
        {
            if (llama is not null) llama.EosTokenId = generationEos.ToList();
            if (gpt2 is not null) gpt2.EosTokenId = generationEos[0];
        }
        using (SafeTensorsCheckpoint.Open(path)) { }  // fail now, naming the file, if the weights are missing or corrupt
        var (tokenizer, problem) = LoadTokenizer(path, modelType);
        return new PretrainedDecoder(Path.GetFullPath(path), modelType, gpt2, llama, tokenizer, problem);
    }

    /// <summary>Creates the language model with the pretrained weights, in evaluation mode.</summary>
    /// <param name="device">Where to put it; the CPU when null.</param>
    /// <param name="dtype">
    /// Parameter type, e.g. <see cref="ScalarType.BFloat16"/>; float32 when null. The module is converted before
    /// the weights are read (stored floating-point types convert on the way in), so a bf16 load never holds a
    /// float32 copy of the model.
    /// </param>
    /// <returns>A <see cref="Gpt2LMHeadModel"/> or <see cref="LlamaForCausalLM"/> (both <see cref="nn.Module"/>s).</returns>
    /// <exception cref="CheckpointException">The weights do not fit the configuration; the message names every key concerned.</exception>
    public ICausalLM LoadModel(Device? device = null, ScalarType? dtype = null)
    {
        nn.Module module;
        StateDictLoadOptions options;
        if (Gpt2Config is not null)
        {
            var gpt2 = new Gpt2LMHeadModel(Gpt2Config);
            (module, options) = (gpt2, gpt2.LoadOptions);
        }
        else
        {
            var llama = new LlamaForCausalLM(LlamaConfig!);
            (module, options) = (llama, llama.LoadOptions);
        }
        try
        {
            if (dtype is ScalarType type) module.to(type);
            using var checkpoint = SafeTensorsCheckpoint.Open(Directory);
            StateDictLoader.Load(module, checkpoint, options);
            if (device is not null) module.to(device);
            module.eval();
            return (ICausalLM)module;
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    /// <summary>Loads the model and pairs it with the folder's tokenizer for text generation.</summary>
    public TextGenerator CreateGenerator(Device? device = null, ScalarType? dtype = null) => new(LoadModel(device, dtype), Tokenizer);

    /// <summary>
    /// Picks the folder's tokenizer: <c>tokenizer.json</c> when present (the complete description every recent model
    /// ships), else <c>vocab.json</c> + <c>merges.txt</c>, else <c>tokenizer.model</c>. A <c>tokenizer.json</c> of a kind
    /// this version cannot read (e.g. Unigram) gives way to the older files; with none of them the model still loads
    /// and <see cref="Tokenizer"/> explains what was looked for. Malformed files fail here, naming the file.
    /// </summary>
    static (TransformerTokenizer?, string?) LoadTokenizer(string folder, string modelType)
    {
        string? unreadable = null;
        if (File.Exists(Path.Combine(folder, HuggingFaceTokenizer.TokenizerJsonFile)))
        {
            try
            {
                return (HuggingFaceTokenizer.FromDirectory(folder), null);
            }
            catch (NotSupportedException e)
            {
                unreadable = $" Its {HuggingFaceTokenizer.TokenizerJsonFile} cannot be used: {e.Message}";
            }
        }

        if (File.Exists(Path.Combine(folder, TokenizerLoader.BpeVocabFile)) && File.Exists(Path.Combine(folder, TokenizerLoader.BpeMergesFile)))
            return (TokenizerLoader.FromDirectory(folder, modelType), null);
        if (File.Exists(Path.Combine(folder, LlamaSentencePieceTokenizer.ModelFile)))
            return (LlamaSentencePieceTokenizer.FromDirectory(folder), null);
        return (null, $"No supported tokenizer in {folder}: looked for {HuggingFaceTokenizer.TokenizerJsonFile}, "
            + $"{TokenizerLoader.BpeVocabFile} + {TokenizerLoader.BpeMergesFile} (byte-level BPE) and {LlamaSentencePieceTokenizer.ModelFile} (SentencePiece).{unreadable} "
            + "The model itself loads; give token ids to TextGenerator.GenerateIds.");
    }
}
