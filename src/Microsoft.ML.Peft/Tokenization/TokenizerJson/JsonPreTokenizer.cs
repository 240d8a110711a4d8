using System.Text.Json;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// <c>tokenizer.json</c>'s <c>pre_tokenizer</c>: cuts a normalized stretch of text into the words BPE runs on.
/// Supported types: Sequence, Split (every behavior, invert), ByteLevel, Metaspace, Digits. Words stay in plain text;
/// the byte-level model maps them to its byte alphabet itself.
/// </summary>
internal static class JsonPreTokenizer
{
    /// <summary>A word in the making. <see cref="AtStart"/>: it begins the whole input (Metaspace's "first" scheme).</summary>
    public readonly record struct Piece(string Text, bool AtStart);

    // GPT-2's word split, which ByteLevel applies when use_regex is true (its default).
    internal const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    static readonly Regex Gpt2Regex = new(Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>Builds the pre-tokenizer at <c>root.pre_tokenizer</c>; one word per stretch when absent or null.</summary>
    /// <exception cref="NotSupportedException">A pre-tokenizer type this version does not implement; the message names file, key and type.</exception>
    public static Func<Piece, IEnumerable<Piece>> Read(JsonSource source, JsonElement root) =>
        source.Object(root, "pre_tokenizer", "pre_tokenizer") is JsonElement p ? Build(source, p, "pre_tokenizer") : piece => [piece];

    static Func<Piece, IEnumerable<Piece>> Build(JsonSource source, JsonElement p, string key)
    {
        string type = source.Type(p, key);
        switch (type)
        {
            case "Sequence":
                var steps = source.Array(p, "pretokenizers", key + ".pretokenizers").Select(x => Build(source, x.Item, x.Key)).ToArray();
                return piece => steps.Aggregate<Func<Piece, IEnumerable<Piece>>, IEnumerable<Piece>>([piece], (pieces, step) => pieces.SelectMany(step).ToList());
            case "Split":
            {
                Regex regex = JsonPattern.Read(source, p, key);
                string behavior = source.String(p, "behavior", key + ".behavior");
                bool invert = source.Bool(p, "invert", key + ".invert", false);
                if (!Behaviors.Contains(behavior))
                    throw source.Unsupported(key + ".behavior", $"split behavior '{behavior}' is not one of {string.Join(", ", Behaviors)}.");
                return piece => Split(piece, regex, behavior, invert);
            }
            case "ByteLevel":
            {
                bool prefixSpace = source.Bool(p, "add_prefix_space", key + ".add_prefix_space", true);
                bool useRegex = source.Bool(p, "use_regex", key + ".use_regex", true);
                return piece =>
                {
                    // Hugging Face adds the space to every stretch that lacks one, so the first word encodes like any other.
                    if (prefixSpace && !piece.Text.StartsWith(' ')) piece = piece with { Text = " " + piece.Text };
                    return useRegex ? Split(piece, Gpt2Regex, "Isolated", invert: false) : [piece];
                };
            }
            case "Metaspace":
            {
                string replacement = source.String(p, "replacement", key + ".replacement");
                // Older files say add_prefix_space (true = always); newer ones prepend_scheme: always | first | never.
                string scheme = source.OptionalString(p, "prepend_scheme", key + ".prepend_scheme")
                    ?? (source.Bool(p, "add_prefix_space", key + ".add_prefix_space", true) ? "always" : "never");
                if (scheme is not ("always" or "first" or "never"))
                    throw source.Unsupported(key + ".prepend_scheme", $"'{scheme}' is not always, first or never.");
                bool split = source.Bool(p, "split", key + ".split", true);
                var splitter = new Regex(Regex.Escape(replacement), RegexOptions.CultureInvariant);
                return piece =>
                {
                    string text = piece.Text.Replace(" ", replacement, StringComparison.Ordinal);
                    bool prepend = scheme == "always" || (scheme == "first" && piece.AtStart);
                    if (prepend && !text.StartsWith(replacement, StringComparison.Ordinal)) text = replacement + text;
                    piece = piece with { Text = text };
                    return split ? Split(piece, splitter, "MergedWithNext", invert: false) : [piece];
                };
            }
            case "Digits":
            {
                bool individual = source.Bool(p, "individual_digits", key + ".individual_digits", false);
                var digits = new Regex(@"\p{N}", RegexOptions.CultureInvariant);
                return piece => Split(piece, digits, individual ? "Isolated" : "Contiguous", invert: false);
            }
            default:
                throw source.Unsupported(key + ".type", $"pre-tokenizer type '{type}' is not supported (supported: Sequence, Split, ByteLevel, Metaspace, Digits).");
        }
    }

    static readonly string[] Behaviors = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"];

    /// <summary>Hugging Face's split of a piece at the matches of <paramref name="regex"/>, by behavior.</summary>
    internal static List<Piece> Split(Piece piece, Regex regex, string behavior, bool invert)
    {
        string text = piece.Text;
        var spans = new List<(int Start, int End, bool Delimiter)>();
        int position = 0;
        foreach (Match m in regex.Matches(text))
        {
            if (m.Length == 0) continue;
            if (m.Index > position) spans.Add((position, m.Index, invert));
            spans.Add((m.Index, m.Index + m.Length, !invert));
            position = m.Index + m.Length;
        }

        if (position < text.Length) spans.Add((position, text.Length, invert));

        var merged = new List<(int Start, int End)>();
        switch (behavior)
        {
            case "Removed":
                merged.AddRange(spans.Where(s => !s.Delimiter).Select(s => (s.Start, s.End)));
                break;
            case "Isolated":
                merged.AddRange(spans.Select(s => (s.Start, s.End)));
                break;
            case "Contiguous":
                for (int i = 0; i < spans.Count; i++)
                {
                    if (spans[i].Delimiter && i > 0 && spans[i - 1].Delimiter) merged[^1] = (merged[^1].Start, spans[i].End);
                    else merged.Add((spans[i].Start, spans[i].End));
                }

                break;
            case "MergedWithPrevious":
                // A delimiter joins the word before it, unless that word is itself a delimiter.
                for (int i = 0; i < spans.Count; i++)
                {
                    if (spans[i].Delimiter && i > 0 && !spans[i - 1].Delimiter) merged[^1] = (merged[^1].Start, spans[i].End);
                    else merged.Add((spans[i].Start, spans[i].End));
                }

                break;
            default: // MergedWithNext: a delimiter joins the word after it, unless that word is itself a delimiter.
                for (int i = spans.Count - 1; i >= 0; i--)
                {
                    if (spans[i].Delimiter && i < spans.Count - 1 && !spans[i + 1].Delimiter) merged[^1] = (spans[i].Start, merged[^1].End);
                    else merged.Add((spans[i].Start, spans[i].End));
                }

                merged.Reverse();
                break;
        }

        return merged.Select(s => new Piece(text[s.Start..s.End], piece.AtStart && s.Start == 0)).ToList();
    }
}
