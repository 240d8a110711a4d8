using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// <c>tokenizer.json</c>'s <c>post_processor</c>: where special tokens go around a text (BOS for Llama, none for
/// GPT-2). Supported types: TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel (adds nothing), Sequence.
/// </summary>
internal static class JsonPostProcessor
{
    /// <summary>The framing the file declares, or null when it declares none (no post-processor, or ByteLevel only).</summary>
    /// <exception cref="InvalidDataException">A template names a special token it does not define; the message names file and key.</exception>
    public static SequenceTemplate? Read(JsonSource source, JsonElement root) =>
        source.Object(root, "post_processor", "post_processor") is JsonElement p ? Build(source, p, "post_processor") : null;

    static SequenceTemplate? Build(JsonSource source, JsonElement p, string key)
    {
        string type = source.Type(p, key);
        switch (type)
        {
            case "ByteLevel":
                return null;  // only adjusts offsets
            case "Sequence":
                // Llama 3: [ByteLevel, TemplateProcessing]; the one that adds tokens decides.
                return source.Array(p, "processors", key + ".processors").Select(x => Build(source, x.Item, x.Key)).LastOrDefault(t => t is not null);
            case "RobertaProcessing":
                return SequenceTemplate.Roberta(Pair(source, p, "cls", key), Pair(source, p, "sep", key));
            case "BertProcessing":
                return SequenceTemplate.Bert(Pair(source, p, "cls", key), Pair(source, p, "sep", key));
            case "TemplateProcessing":
                return Template(source, p, key);
            default:
                throw source.Unsupported(key + ".type", $"post-processor type '{type}' is not supported (supported: TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence).");
        }
    }

    // "cls": ["<s>", 0]
    static int Pair(JsonSource source, JsonElement p, string name, string key)
    {
        if (p.TryGetProperty(name, out JsonElement pair) && pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2
            && pair[1].ValueKind == JsonValueKind.Number && pair[1].TryGetInt32(out int id))
            return id;
        throw source.Error($"{key}.{name}", "expected [\"token\", id].");
    }

    static SequenceTemplate Template(JsonSource source, JsonElement p, string key)
    {
        var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
        if (source.Object(p, "special_tokens", key + ".special_tokens") is JsonElement map)
        {
            foreach (JsonProperty entry in map.EnumerateObject())
            {
                string entryKey = $"{key}.special_tokens[\"{entry.Name}\"].ids";
                specials[entry.Name] = source.Array(entry.Value, "ids", entryKey)
                    .Select(x => x.Item.ValueKind == JsonValueKind.Number && x.Item.TryGetInt32(out int id) ? id : throw source.Error(x.Key, "expected an integer id."))
                    .ToArray();
            }
        }

        var single = Items(source, p, "single", key, specials);
        int a = single.FindIndex(i => i.Sequence == "A");
        if (a < 0) throw source.Error(key + ".single", "has no $A sequence.");
        int[] prefix = single.Take(a).SelectMany(i => i.Ids).ToArray();
        int[] suffix = single.Skip(a + 1).SelectMany(i => i.Ids).ToArray();

        // Pairs: Prefix A Separator B Suffix. A pair template of another shape (rare for decoders) falls back to
        // suffix + prefix between the texts, i.e. the single template applied to each.
        int[] separator = [.. suffix, .. prefix];
        int secondType = 0;
        if (p.TryGetProperty("pair", out _))
        {
            var pair = Items(source, p, "pair", key, specials);
            int pa = pair.FindIndex(i => i.Sequence == "A"), pb = pair.FindIndex(i => i.Sequence == "B");
            if (pa >= 0 && pb > pa
                && pair.Take(pa).SelectMany(i => i.Ids).SequenceEqual(prefix)
                && pair.Skip(pb + 1).SelectMany(i => i.Ids).SequenceEqual(suffix))
            {
                separator = pair.Skip(pa + 1).Take(pb - pa - 1).SelectMany(i => i.Ids).ToArray();
                secondType = pair[pb].TypeId;
            }
        }

        return new SequenceTemplate(prefix, separator, suffix, secondType);
    }

    readonly record struct Item(string? Sequence, int[] Ids, int TypeId);

    static List<Item> Items(JsonSource source, JsonElement p, string name, string key, Dictionary<string, int[]> specials)
    {
        var items = new List<Item>();
        foreach ((JsonElement item, string itemKey) in source.Array(p, name, $"{key}.{name}"))
        {
            if (source.Object(item, "Sequence", itemKey + ".Sequence") is JsonElement sequence)
            {
                items.Add(new Item(source.String(sequence, "id", itemKey + ".Sequence.id"), [], source.Int(sequence, "type_id", itemKey + ".Sequence.type_id", 0)));
            }
            else if (source.Object(item, "SpecialToken", itemKey + ".SpecialToken") is JsonElement special)
            {
                string id = source.String(special, "id", itemKey + ".SpecialToken.id");
                int[] ids = specials.TryGetValue(id, out int[]? found) ? found
                    : throw source.Error(itemKey + ".SpecialToken.id", $"'{id}' is not defined in {key}.special_tokens.");
                items.Add(new Item(null, ids, source.Int(special, "type_id", itemKey + ".SpecialToken.type_id", 0)));
            }
            else
            {
                throw source.Error(itemKey, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}.");
            }
        }

        return items;
    }
}
