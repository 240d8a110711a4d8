using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// The tokenizer settings a Hugging Face model folder declares in <c>tokenizer_config.json</c> and
/// <c>special_tokens_map.json</c> (the latter wins, as in <c>transformers</c>). Every value is optional:
/// <see langword="null"/> means the file does not say, and the tokenizer falls back to the model family's default.
/// </summary>
public sealed class TokenizerConfig
{
    /// <summary>Name of the file with general tokenizer settings.</summary>
    public const string TokenizerConfigFile = "tokenizer_config.json";

    /// <summary>Name of the file mapping special token roles to strings.</summary>
    public const string SpecialTokensMapFile = "special_tokens_map.json";

    /// <summary>Classification token string (e.g. <c>[CLS]</c>, <c>&lt;s&gt;</c>).</summary>
    public string? ClsToken { get; set; }

    /// <summary>Separator token string (e.g. <c>[SEP]</c>, <c>&lt;/s&gt;</c>).</summary>
    public string? SepToken { get; set; }

    /// <summary>Padding token string.</summary>
    public string? PadToken { get; set; }

    /// <summary>Unknown token string.</summary>
    public string? UnkToken { get; set; }

    /// <summary>Beginning-of-sequence token string.</summary>
    public string? BosToken { get; set; }

    /// <summary>End-of-sequence token string.</summary>
    public string? EosToken { get; set; }

    /// <summary>Mask token string.</summary>
    public string? MaskToken { get; set; }

    /// <summary>Whether WordPiece lower-cases the text (<c>do_lower_case</c>).</summary>
    public bool? DoLowerCase { get; set; }

    /// <summary>Whether WordPiece strips accents (<c>strip_accents</c>); null follows <see cref="DoLowerCase"/>.</summary>
    public bool? StripAccents { get; set; }

    /// <summary>Whether WordPiece splits CJK ideographs into single characters (<c>tokenize_chinese_chars</c>).</summary>
    public bool? TokenizeChineseChars { get; set; }

    /// <summary>Whether byte-level BPE adds a space before the text (<c>add_prefix_space</c>).</summary>
    public bool? AddPrefixSpace { get; set; }

    /// <summary>Whether the tokenizer puts the beginning-of-sequence token before each text (<c>add_bos_token</c>).</summary>
    public bool? AddBosToken { get; set; }

    /// <summary>Whether the tokenizer puts the end-of-sequence token after each text (<c>add_eos_token</c>).</summary>
    public bool? AddEosToken { get; set; }

    /// <summary>Longest input the model accepts (<c>model_max_length</c>), when the file states a sensible one.</summary>
    public int? ModelMaxLength { get; set; }

    /// <summary>Reads both files from <paramref name="folder"/>; files that do not exist are skipped.</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The settings found (all null when neither file exists).</returns>
    /// <exception cref="InvalidDataException">A file exists but is not a JSON object; the message names the file.</exception>
    public static TokenizerConfig Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var config = new TokenizerConfig();
        config.Apply(Path.Combine(folder, TokenizerConfigFile));
        config.Apply(Path.Combine(folder, SpecialTokensMapFile));
        return config;
    }

    private void Apply(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path} must hold a JSON object, not {root.ValueKind}.");
            }

            ClsToken = Token(root, "cls_token") ?? ClsToken;
            SepToken = Token(root, "sep_token") ?? SepToken;
            PadToken = Token(root, "pad_token") ?? PadToken;
            UnkToken = Token(root, "unk_token") ?? UnkToken;
            BosToken = Token(root, "bos_token") ?? BosToken;
            EosToken = Token(root, "eos_token") ?? EosToken;
            MaskToken = Token(root, "mask_token") ?? MaskToken;
            DoLowerCase = Bool(root, "do_lower_case") ?? DoLowerCase;
            StripAccents = Bool(root, "strip_accents") ?? StripAccents;
            TokenizeChineseChars = Bool(root, "tokenize_chinese_chars") ?? TokenizeChineseChars;
            AddPrefixSpace = Bool(root, "add_prefix_space") ?? AddPrefixSpace;
            AddBosToken = Bool(root, "add_bos_token") ?? AddBosToken;
            AddEosToken = Bool(root, "add_eos_token") ?? AddEosToken;

            // transformers writes 1e30 ("VERY_LARGE_INTEGER") when a model has no limit; treat that as unknown.
            if (root.TryGetProperty("model_max_length", out JsonElement max) && max.ValueKind == JsonValueKind.Number
                && max.TryGetDouble(out double value) && value >= 1 && value <= int.MaxValue)
            {
                ModelMaxLength = (int)value;
            }
        }
    }

    // A special token is written either as a string or as an AddedToken object {"content": "...", ...}.
    private static string? Token(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => null,
        };
    }

    private static bool? Bool(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;
}
