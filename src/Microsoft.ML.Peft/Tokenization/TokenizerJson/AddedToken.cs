using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// One entry of <c>tokenizer.json</c>'s <c>added_tokens</c>: a string matched in the text before the model runs and
/// never split (chat markers, <c>&lt;s&gt;</c>, <c>&lt;|endoftext|&gt;</c>...).
/// </summary>
/// <param name="Id">Its id.</param>
/// <param name="Content">The exact text it stands for.</param>
/// <param name="Special">Whether decoding with <c>skipSpecialTokens</c> drops it.</param>
/// <param name="SingleWord">Match only when not inside a word.</param>
/// <param name="LStrip">Swallow the whitespace before it.</param>
/// <param name="RStrip">Swallow the whitespace after it.</param>
internal sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip)
{
    public static List<AddedToken> ReadAll(JsonSource source, JsonElement root)
    {
        var tokens = new List<AddedToken>();
        foreach ((JsonElement item, string key) in source.Array(root, "added_tokens", "added_tokens"))
        {
            if (item.ValueKind != JsonValueKind.Object) throw source.Error(key, $"expected an object, found {item.ValueKind}.");
            int id = source.Int(item, "id", key + ".id", -1);
            if (id < 0) throw source.Error(key + ".id", "missing or negative.");
            string content = source.String(item, "content", key + ".content");
            if (content.Length == 0) throw source.Error(key + ".content", "is empty.");
            tokens.Add(new AddedToken(id, content,
                source.Bool(item, "special", key + ".special", false),
                source.Bool(item, "single_word", key + ".single_word", false),
                source.Bool(item, "lstrip", key + ".lstrip", false),
                source.Bool(item, "rstrip", key + ".rstrip", false)));
        }

        return tokens;
    }
}
