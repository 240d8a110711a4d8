using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>Finds and loads the tokenizer of a Hugging Face style model folder.</summary>
public static class TokenizerLoader
{
    /// <summary>File name of a WordPiece vocabulary.</summary>
    public const string WordPieceVocabFile = "vocab.txt";

    /// <summary>File name of a byte-level BPE vocabulary.</summary>
    public const string BpeVocabFile = "vocab.json";

    /// <summary>File name of byte-level BPE merges.</summary>
    public const string BpeMergesFile = "merges.txt";

    // Byte-level BPE families that frame inputs like RoBERTa; every other BPE model is taken as GPT-2 style.
    private static readonly HashSet<string> RobertaLike = new(StringComparer.OrdinalIgnoreCase)
    {
        "roberta", "bart", "longformer", "mbart", "led", "blenderbot", "markuplm", "layoutlmv3",
    };

    /// <summary>
    /// Loads the tokenizer of <paramref name="folder"/>: WordPiece when it holds <c>vocab.txt</c>, byte-level BPE
    /// when it holds <c>vocab.json</c> and <c>merges.txt</c>. Settings in <c>tokenizer_config.json</c> and
    /// <c>special_tokens_map.json</c> are honoured when present.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="modelType">
    /// The model family (<c>config.json</c>'s <c>model_type</c>, e.g. "bert", "roberta", "gpt2"); it picks the framing
    /// of BPE models. When null it is read from <c>config.json</c>, else guessed from the vocabulary
    /// (RoBERTa framing when it holds <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c>).
    /// </param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder has no tokenizer files; the message names the folder and the files looked for.</exception>
    public static TransformerTokenizer FromDirectory(string folder, string? modelType = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Model folder not found: {folder}");
        }

        TokenizerConfig config = TokenizerConfig.Load(folder);
        string wordPieceVocab = Path.Combine(folder, WordPieceVocabFile);
        string bpeVocab = Path.Combine(folder, BpeVocabFile);
        string bpeMerges = Path.Combine(folder, BpeMergesFile);

        if (File.Exists(wordPieceVocab))
        {
            return BertWordPieceTokenizer.FromVocabFile(wordPieceVocab, WordPieceTokenizerOptions.From(config));
        }

        if (File.Exists(bpeVocab) && File.Exists(bpeMerges))
        {
            modelType ??= ReadModelType(folder);
            bool roberta = modelType is null ? HasRobertaTokens(bpeVocab) : RobertaLike.Contains(modelType);
            ByteLevelBpeOptions options = (roberta ? ByteLevelBpeOptions.Roberta() : ByteLevelBpeOptions.Gpt2()).With(config);
            return ByteLevelBpeTokenizer.FromFiles(bpeVocab, bpeMerges, options);
        }

        throw new FileNotFoundException(
            $"No tokenizer in {folder}: expected {WordPieceVocabFile} (WordPiece) or {BpeVocabFile} + {BpeMergesFile} (byte-level BPE).",
            wordPieceVocab);
    }

    // config.json is the model's file, not the tokenizer's: a missing or odd one just leaves the type unknown.
    private static string? ReadModelType(string folder)
    {
        string path = Path.Combine(folder, "config.json");
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("model_type", out JsonElement type)
                && type.ValueKind == JsonValueKind.String
                ? type.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // vocab.json may escape "<" and ">" (\u003C), so look at the parsed keys, not the raw text.
    private static bool HasRobertaTokens(string vocabPath)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(vocabPath));
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("<s>", out _)
                && document.RootElement.TryGetProperty("</s>", out _);
        }
        catch (JsonException)
        {
            return false; // FromFiles reports the malformed file with its name.
        }
    }
}
