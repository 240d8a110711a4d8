using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// Reads values out of one JSON file and turns every problem into an <see cref="InvalidDataException"/> that names
/// the file and the key path (e.g. <c>tokenizer.json: model.merges[3]</c>), so a user can open the file and look.
/// </summary>
internal sealed class JsonSource
{
    public JsonSource(string file) => File = file;

    /// <summary>Path of the file, as given.</summary>
    public string File { get; }

    /// <summary>Parses the file; a missing file or malformed JSON is an error naming it.</summary>
    public static JsonDocument Parse(string file)
    {
        if (!System.IO.File.Exists(file)) throw new FileNotFoundException($"File not found: {file}", file);
        try
        {
            return JsonDocument.Parse(System.IO.File.ReadAllText(file), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file} is not valid JSON: {e.Message}", e);
        }
    }

    public InvalidDataException Error(string key, string problem) => new($"{File}: {key}: {problem}");

    public NotSupportedException Unsupported(string key, string what) => new($"{File}: {key}: {what}");

    /// <summary>The object at <paramref name="key"/> of <paramref name="parent"/>, or null when absent or JSON null.</summary>
    public JsonElement? Object(JsonElement parent, string name, string key)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object) throw Error(key, $"expected an object, found {value.ValueKind}.");
        return value;
    }

    /// <summary>The required string at <paramref name="name"/>.</summary>
    public string String(JsonElement parent, string name, string key) =>
        OptionalString(parent, name, key) ?? throw Error(key, "missing (a string is required).");

    public string? OptionalString(JsonElement parent, string name, string key)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Error(key, $"expected a string, found {value.ValueKind}.");
    }

    public bool Bool(JsonElement parent, string name, string key, bool fallback)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return fallback;
        return value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : throw Error(key, $"expected true or false, found {value.ValueKind}.");
    }

    public int Int(JsonElement parent, string name, string key, int fallback)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return fallback;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)
            ? result
            : throw Error(key, $"expected an integer, found {value.ValueKind} {value.GetRawText()}.");
    }

    /// <summary>The <c>type</c> of a component object (normalizer, pre-tokenizer, model, decoder, post-processor).</summary>
    public string Type(JsonElement component, string key) => String(component, "type", key + ".type");

    /// <summary>The array at <paramref name="name"/>, empty when absent.</summary>
    public IEnumerable<(JsonElement Item, string Key)> Array(JsonElement parent, string name, string key)
    {
        if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) yield break;
        if (value.ValueKind != JsonValueKind.Array) throw Error(key, $"expected an array, found {value.ValueKind}.");
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray()) yield return (item, $"{key}[{i++}]");
    }
}
