using System.Text;
using System.Text.Json;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// <c>tokenizer.json</c>'s <c>normalizer</c>: rewrites each plain stretch of text before pre-tokenization.
/// Supported types: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip.
/// </summary>
internal static class JsonNormalizer
{
    /// <summary>Builds the normalizer at <c>root.normalizer</c>; the identity when absent or null.</summary>
    /// <exception cref="NotSupportedException">A normalizer type this version does not implement; the message names file, key and type.</exception>
    public static Func<string, string> Read(JsonSource source, JsonElement root) =>
        source.Object(root, "normalizer", "normalizer") is JsonElement n ? Build(source, n, "normalizer") : s => s;

    static Func<string, string> Build(JsonSource source, JsonElement n, string key)
    {
        string type = source.Type(n, key);
        switch (type)
        {
            case "Sequence":
                var steps = source.Array(n, "normalizers", key + ".normalizers").Select(x => Build(source, x.Item, x.Key)).ToArray();
                return s => steps.Aggregate(s, (acc, step) => step(acc));
            case "Prepend":
                string prefix = source.String(n, "prepend", key + ".prepend");
                return s => s.Length == 0 ? s : prefix + s;  // Hugging Face leaves empty text empty
            case "Replace":
                var pattern = JsonPattern.Read(source, n, key);
                string content = source.String(n, "content", key + ".content");
                return s => pattern.Replace(s, content.Replace("$", "$$", StringComparison.Ordinal));
            case "NFC": return s => s.Normalize(NormalizationForm.FormC);
            case "NFD": return s => s.Normalize(NormalizationForm.FormD);
            case "NFKC": return s => s.Normalize(NormalizationForm.FormKC);
            case "NFKD": return s => s.Normalize(NormalizationForm.FormKD);
            case "Lowercase": return s => s.ToLowerInvariant();
            case "Strip":
                bool left = source.Bool(n, "strip_left", key + ".strip_left", true), right = source.Bool(n, "strip_right", key + ".strip_right", true);
                return s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s;
            default:
                throw source.Unsupported(key + ".type", $"normalizer type '{type}' is not supported (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip).");
        }
    }
}
