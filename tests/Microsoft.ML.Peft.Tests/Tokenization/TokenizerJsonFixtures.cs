using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>
/// Writes <c>tokenizer.json</c> files the way Hugging Face's tokenizers saves them: GPT-2's (from the real GPT-2
/// vocab.json + merges.txt of <see cref="Gpt2Fixture"/>), a Llama 3 style variant of it, and a Llama 2 style
/// SentencePiece BPE equal to <c>TinySentencePiece</c>'s tokenizer.model.
/// </summary>
internal static class TokenizerJsonFixtures
{
    public static JsonObject Gpt2(Gpt2Fixture gpt2, bool pairMerges)
    {
        var vocab = JsonNode.Parse(File.ReadAllText(gpt2.VocabPath))!.AsObject();
        var merges = new JsonArray();
        foreach (string line in File.ReadLines(gpt2.MergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)))
        {
            string[] parts = line.Split(' ');
            merges.Add(pairMerges ? new JsonArray(parts[0], parts[1]) : JsonValue.Create(line));
        }

        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Added(Gpt2Fixture.EndOfText, "<|endoftext|>", normalized: true)),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
    }

    /// <summary>
    /// GPT-2's vocabulary dressed as Llama 3 ships its tokenizer: a Split pre-tokenizer with the regex, ByteLevel without
    /// its own regex, <c>ignore_merges</c>, and a TemplateProcessing that adds BOS (here &lt;|endoftext|&gt;).
    /// </summary>
    public static JsonObject Llama3Style(Gpt2Fixture gpt2)
    {
        JsonObject json = Gpt2(gpt2, pairMerges: true);
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "Split",
                    ["pattern"] = new JsonObject { ["Regex"] = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+" },
                    ["behavior"] = "Isolated",
                    ["invert"] = false,
                },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };
        json["model"]!["ignore_merges"] = true;
        json["post_processor"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["processors"] = new JsonArray(
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                Template("<|endoftext|>", Gpt2Fixture.EndOfText)),
        };
        return json;
    }

    /// <summary>
    /// The SentencePiece BPE of <c>TinySentencePiece</c> as transformers converts a Llama 2 tokenizer: same ids, merges
    /// in the order of the merged pieces' scores, byte fallback, and either the Prepend/Replace normalizer (legacy) or a
    /// Metaspace pre-tokenizer with prepend_scheme "first".
    /// </summary>
    public static JsonObject TinyLlama2(bool metaspace = false)
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = 3 + b;
        string[] pieces = ["\u2581", "t", "h", "e", "c", "a", "\u2581t", "he", "\u2581the", "at", "\u2581c"];
        for (int i = 0; i < pieces.Length; i++) vocab[pieces[i]] = 259 + i;
        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(Added(0, "<unk>"), Added(1, "<s>"), Added(2, "</s>")),
            ["normalizer"] = metaspace ? null : new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "\u2581" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "\u2581" }),
            },
            ["pre_tokenizer"] = metaspace ? new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = "first", ["split"] = false } : null,
            ["post_processor"] = Template("<s>", 1),
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "\u2581" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = "<unk>",
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray("\u2581 t", "h e", "\u2581t he", "a t", "\u2581 c"),
            },
        };
        return json;
    }

    public static void Write(JsonObject json, string path) => File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));

    static JsonObject Added(int id, string content, bool normalized = false) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
        ["normalized"] = normalized, ["special"] = true,
    };

    // "single": BOS $A; "pair": BOS $A BOS $B (type id 1), as transformers writes for Llama.
    static JsonObject Template(string bos, int bosId) => new()
    {
        ["type"] = "TemplateProcessing",
        ["single"] = new JsonArray(Special(bos, 0), Sequence("A", 0)),
        ["pair"] = new JsonArray(Special(bos, 0), Sequence("A", 0), Special(bos, 1), Sequence("B", 1)),
        ["special_tokens"] = new JsonObject { [bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(bosId), ["tokens"] = new JsonArray(bos) } },
    };

    static JsonObject Special(string id, int type) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = type } };

    static JsonObject Sequence(string id, int type) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = type } };
}
