using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// <c>tokenizer.json</c>'s <c>model</c> section for <c>"type": "BPE"</c>: vocabulary, merges by priority, and the
/// options that change how words are encoded.
/// </summary>
internal sealed class BpeModelData
{
    public required Dictionary<string, int> Vocabulary { get; init; }

    /// <summary>The merges, highest priority first.</summary>
    public required List<(string Left, string Right)> Merges { get; init; }

    public string? UnknownToken { get; init; }

    /// <summary>Characters missing from the vocabulary become their UTF-8 bytes, as <c>&lt;0xNN&gt;</c> tokens.</summary>
    public bool ByteFallback { get; init; }

    /// <summary>Consecutive unknown characters give one unknown token.</summary>
    public bool FuseUnknown { get; init; }

    /// <summary>A word that is itself in the vocabulary is taken whole, without merging (Llama 3, tiktoken's rule).</summary>
    public bool IgnoreMerges { get; init; }

    /// <summary>Reads <c>root.model</c>.</summary>
    /// <exception cref="InvalidDataException">The section is missing or malformed; the message names file and key.</exception>
    /// <exception cref="NotSupportedException">The model is not BPE (Unigram, WordLevel, WordPiece) or uses an option this version lacks.</exception>
    public static BpeModelData Read(JsonSource source, JsonElement root)
    {
        JsonElement model = source.Object(root, "model", "model") ?? throw source.Error("model", "missing; a tokenizer.json needs a model section.");
        // Files written by old versions of tokenizers may omit the type of a BPE model; merges tell it apart.
        string type = source.OptionalString(model, "type", "model.type") ?? (model.TryGetProperty("merges", out _) ? "BPE" : "(missing)");
        if (type != "BPE")
            throw source.Unsupported("model.type", $"model type '{type}' is not supported; only BPE models are (byte-level like GPT-2, Qwen2, Llama 3, or SentencePiece-style like Llama 2, Mistral).");
        if (model.TryGetProperty("dropout", out JsonElement dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw source.Unsupported("model.dropout", "BPE dropout is a training-time option and is not supported.");
        foreach (string option in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (source.OptionalString(model, option, "model." + option) is { Length: > 0 } value)
                throw source.Unsupported("model." + option, $"'{value}' is not supported (decoder BPE models leave it empty).");
        }

        var vocabulary = ReadVocabulary(source, model);
        return new BpeModelData
        {
            Vocabulary = vocabulary,
            Merges = ReadMerges(source, model, vocabulary),
            UnknownToken = source.OptionalString(model, "unk_token", "model.unk_token"),
            ByteFallback = source.Bool(model, "byte_fallback", "model.byte_fallback", false),
            FuseUnknown = source.Bool(model, "fuse_unk", "model.fuse_unk", false),
            IgnoreMerges = source.Bool(model, "ignore_merges", "model.ignore_merges", false),
        };
    }

    static Dictionary<string, int> ReadVocabulary(JsonSource source, JsonElement model)
    {
        JsonElement vocab = source.Object(model, "vocab", "model.vocab") ?? throw source.Error("model.vocab", "missing.");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw source.Error($"model.vocab[\"{entry.Name}\"]", $"expected a non-negative integer id, found {entry.Value.GetRawText()}.");
            result[entry.Name] = id;
        }

        if (result.Count == 0) throw source.Error("model.vocab", "is empty.");
        return result;
    }

    // Merges are "a b" strings in most files; tokenizers 0.20+ writes ["a", "b"] pairs so tokens may hold spaces.
    static List<(string, string)> ReadMerges(JsonSource source, JsonElement model, Dictionary<string, int> vocabulary)
    {
        if (!model.TryGetProperty("merges", out _)) throw source.Error("model.merges", "missing.");
        var merges = new List<(string, string)>();
        foreach ((JsonElement item, string key) in source.Array(model, "merges", "model.merges"))
        {
            (string left, string right) = item.ValueKind switch
            {
                JsonValueKind.String => SplitMerge(source, item.GetString()!, key),
                JsonValueKind.Array when item.GetArrayLength() == 2 && item.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String)
                    => (item[0].GetString()!, item[1].GetString()!),
                _ => throw source.Error(key, $"expected \"a b\" or [\"a\", \"b\"], found {item.GetRawText()}."),
            };
            foreach (string part in new[] { left, right, left + right })
            {
                if (!vocabulary.ContainsKey(part)) throw source.Error(key, $"'{part}' of the merge '{left}' + '{right}' is not in model.vocab.");
            }

            merges.Add((left, right));
        }

        return merges;
    }

    static (string, string) SplitMerge(JsonSource source, string merge, string key)
    {
        int space = merge.IndexOf(' ');
        if (space <= 0 || space == merge.Length - 1 || merge.IndexOf(' ', space + 1) >= 0)
            throw source.Error(key, $"expected two tokens separated by one space, found '{merge}'.");
        return (merge[..space], merge[(space + 1)..]);
    }
}
