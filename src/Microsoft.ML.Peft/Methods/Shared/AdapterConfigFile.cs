using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Peft.Methods;

/// <summary>Reads and writes <c>adapter_config.json</c> (PEFT's field names) for every method but LoRA, which has its own.</summary>
public static class AdapterConfigFile
{
    /// <summary>The file name PEFT uses.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>Writes <paramref name="json"/> as <see cref="FileName"/> into <paramref name="folder"/> (created when missing).</summary>
    public static void Write(string folder, JsonObject json)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, FileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads <see cref="FileName"/> from <paramref name="folder"/>.</summary>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="InvalidDataException">It is not a JSON object.</exception>
    public static JsonObject Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"No {FileName} in the adapter folder '{folder}'.", path);
        return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path} is not a JSON object.");
    }

    /// <summary>Reads the config and checks its <c>peft_type</c>.</summary>
    /// <exception cref="InvalidDataException">The folder holds another method's adapter.</exception>
    public static JsonObject Read(string folder, string expectedPeftType)
    {
        var json = Read(folder);
        string actual = json["peft_type"]?.GetValue<string>() ?? "";
        if (actual != expectedPeftType)
            throw new InvalidDataException($"{FileName}: peft_type is '{actual}', not '{expectedPeftType}'.");
        return json;
    }

    /// <summary>An integer field that must be present.</summary>
    /// <exception cref="InvalidDataException">It is missing.</exception>
    public static int RequiredInt(JsonObject json, string field) =>
        json[field]?.GetValue<int>() ?? throw new InvalidDataException($"{FileName}: field '{field}' is missing.");

    /// <summary>A JSON array of strings, or null.</summary>
    public static JsonArray? Strings(IEnumerable<string>? values) =>
        values is null ? null : new JsonArray(values.Select(x => (JsonNode)JsonValue.Create(x)).ToArray());

    /// <summary>The strings of a JSON array (a single string counts as one), or null.</summary>
    public static List<string>? ReadStrings(JsonNode? node) => node switch
    {
        JsonArray a => a.Select(n => n!.GetValue<string>()).ToList(),
        JsonValue v when v.TryGetValue<string>(out var s) => new List<string> { s },
        _ => null,
    };

    /// <summary>
    /// Checks a config value against the base model's; names the field and both values when they differ.
    /// </summary>
    /// <exception cref="InvalidDataException">The adapter was made for another architecture.</exception>
    public static void CheckMatches(JsonObject json, string field, int modelValue)
    {
        if (json[field] is null) return;  // PEFT leaves some of these null until the model is known
        int saved = json[field]!.GetValue<int>();
        if (saved != modelValue)
            throw new InvalidDataException($"{FileName}: {field} is {saved} but the base model has {modelValue}; the adapter was made for another model.");
    }
}
