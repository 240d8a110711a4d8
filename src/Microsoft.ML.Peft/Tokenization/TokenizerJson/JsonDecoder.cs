using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// <c>tokenizer.json</c>'s <c>decoder</c>: turns the token strings of some ids back into text. Each step maps the
/// list of token strings to a new list (as in Hugging Face's decode chain); the result is their concatenation.
/// Supported types: Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip.
/// </summary>
internal static class JsonDecoder
{
    /// <summary>Builds the decoder at <c>root.decoder</c>; plain concatenation when absent or null.</summary>
    /// <exception cref="NotSupportedException">A decoder type this version does not implement; the message names file, key and type.</exception>
    public static Func<List<string>, List<string>> Read(JsonSource source, JsonElement root) =>
        source.Object(root, "decoder", "decoder") is JsonElement d ? Build(source, d, "decoder") : tokens => tokens;

    static Func<List<string>, List<string>> Build(JsonSource source, JsonElement d, string key)
    {
        string type = source.Type(d, key);
        switch (type)
        {
            case "Sequence":
                var steps = source.Array(d, "decoders", key + ".decoders").Select(x => Build(source, x.Item, x.Key)).ToArray();
                return tokens => steps.Aggregate(tokens, (acc, step) => step(acc));
            case "ByteLevel":
                return tokens =>
                {
                    var bytes = new List<byte>();
                    foreach (string token in tokens) ByteLevelChars.AppendBytes(token, bytes);
                    return [Encoding.UTF8.GetString(bytes.ToArray())];  // invalid UTF-8 becomes U+FFFD, as in Hugging Face
                };
            case "Metaspace":
            {
                string replacement = source.String(d, "replacement", key + ".replacement");
                string scheme = source.OptionalString(d, "prepend_scheme", key + ".prepend_scheme")
                    ?? (source.Bool(d, "add_prefix_space", key + ".add_prefix_space", true) ? "always" : "never");
                return tokens => tokens.Select((t, i) =>
                {
                    string text = t.Replace(replacement, " ", StringComparison.Ordinal);
                    // The space the pre-tokenizer prepended to the text is removed again.
                    return i == 0 && scheme != "never" && text.StartsWith(' ') ? text[1..] : text;
                }).ToList();
            }
            case "Replace":
            {
                Regex pattern = JsonPattern.Read(source, d, key);
                string content = source.String(d, "content", key + ".content").Replace("$", "$$", StringComparison.Ordinal);
                return tokens => tokens.Select(t => pattern.Replace(t, content)).ToList();
            }
            case "ByteFallback":
                return ByteFallback;
            case "Fuse":
                return tokens => [string.Concat(tokens)];
            case "Strip":
            {
                string content = source.String(d, "content", key + ".content");
                if (content.Length != 1) throw source.Error(key + ".content", $"expected one character, found '{content}'.");
                int start = source.Int(d, "start", key + ".start", 0), stop = source.Int(d, "stop", key + ".stop", 0);
                return tokens => tokens.Select(t => Strip(t, content[0], start, stop)).ToList();
            }
            default:
                throw source.Unsupported(key + ".type", $"decoder type '{type}' is not supported (supported: Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip).");
        }
    }

    // Runs of <0xNN> tokens become the text their bytes spell; a run that is not valid UTF-8 gives one U+FFFD per byte.
    static List<string> ByteFallback(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var run = new List<byte>();
        void Flush()
        {
            if (run.Count == 0) return;
            try
            {
                result.Add(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(run.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                result.AddRange(Enumerable.Repeat("\uFFFD", run.Count));
            }

            run.Clear();
        }

        foreach (string token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                && byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                run.Add(b);
                continue;
            }

            Flush();
            result.Add(token);
        }

        Flush();
        return result;
    }

    static string Strip(string token, char c, int start, int stop)
    {
        int from = 0, to = token.Length;
        while (from < to && from < start && token[from] == c) from++;
        while (to > from && token.Length - to < stop && token[to - 1] == c) to--;
        return token[from..to];
    }
}
