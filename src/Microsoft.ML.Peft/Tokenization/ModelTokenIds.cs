using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// The special token ids a model folder states as numbers: <c>bos_token_id</c>, <c>eos_token_id</c> (one id or a
/// list) and <c>pad_token_id</c>, from <c>generation_config.json</c>, else <c>config.json</c>, key by key. The
/// tokenizer files name tokens by their text; these files are the fallback when they do not.
/// </summary>
public sealed class ModelTokenIds
{
    /// <summary>Name of the file with generation defaults.</summary>
    public const string GenerationConfigFile = "generation_config.json";

    /// <summary>Name of the model's configuration file.</summary>
    public const string ModelConfigFile = "config.json";

    /// <summary><c>bos_token_id</c>, when stated.</summary>
    public int? Bos { get; private set; }

    /// <summary><c>eos_token_id</c>: every id that ends a sequence (Llama 3 Instruct lists several); empty when not stated.</summary>
    public IReadOnlyList<int> Eos { get; private set; } = [];

    /// <summary><c>pad_token_id</c>, when stated.</summary>
    public int? Pad { get; private set; }

    /// <summary>Reads both files of <paramref name="folder"/>; absent files and keys are skipped.</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The ids found.</returns>
    /// <exception cref="InvalidDataException">A file is not JSON, or a key holds something other than an id (or list of ids); the message names file and key.</exception>
    public static ModelTokenIds Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var ids = new ModelTokenIds();
        // config.json first, so generation_config.json (the file generation reads) overrides it key by key.
        foreach (string name in new[] { ModelConfigFile, GenerationConfigFile })
        {
            string path = Path.Combine(folder, name);
            if (!File.Exists(path)) continue;
            using JsonDocument document = JsonSource.Parse(path);
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path} must hold a JSON object.");
            var source = new JsonSource(path);
            ids.Bos = Ids(source, document.RootElement, "bos_token_id")?.FirstOrDefault() ?? ids.Bos;
            ids.Eos = Ids(source, document.RootElement, "eos_token_id") ?? ids.Eos;
            ids.Pad = Ids(source, document.RootElement, "pad_token_id")?.FirstOrDefault() ?? ids.Pad;
        }

        return ids;
    }

    static int[]? Ids(JsonSource source, JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        int Id(JsonElement e) => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id) && id >= 0
            ? id
            : throw source.Error(key, $"expected a non-negative integer id or a list of them, found {value.GetRawText()}.");
        int[] ids = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Select(Id).ToArray() : [Id(value)];
        return ids.Length == 0 ? null : ids;
    }
}
