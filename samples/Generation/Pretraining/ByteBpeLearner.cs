using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Generation.Pretraining;

/// <summary>
/// Learns a small byte-level BPE vocabulary in GPT-2's file format (<c>vocab.json</c> + <c>merges.txt</c>), so the
/// shipped decoder loads through the library's ordinary <c>ByteLevelBpeTokenizer</c>. Ids 0–255 are the 256 byte
/// symbols, then one id per merge, then <c>&lt;|endoftext|&gt;</c>. A few hundred merges roughly halve the
/// sequence length of English text while keeping the embedding table tiny.
/// </summary>
public static class ByteBpeLearner
{
    /// <summary>The end-of-text token, GPT-2's only special token.</summary>
    public const string EndOfText = "<|endoftext|>";

    // GPT-2's pre-tokenization: merges never cross these word boundaries, exactly as at encoding time.
    static readonly Regex Words = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
                                      RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>GPT-2's reversible byte → printable character table (spaces become 'Ġ', newlines 'Ċ').</summary>
    public static string[] ByteSymbols()
    {
        var symbols = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            symbols[b] = ((char)(printable ? b : next++)).ToString();
        }
        return symbols;
    }

    /// <summary>Learns <paramref name="mergeCount"/> merges from <paramref name="texts"/> and writes the two files.</summary>
    /// <returns>The vocabulary size (bytes + merges + end-of-text).</returns>
    public static int LearnAndSave(IEnumerable<string> texts, int mergeCount, string folder)
    {
        var symbols = ByteSymbols();
        // Word (as its list of symbols) → frequency. Distinct words are few, so merging works on them, not on the text.
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (Match m in Words.Matches(text))
            {
                string key = string.Concat(Encoding.UTF8.GetBytes(m.Value).Select(b => symbols[b] + "\u0001"));
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        var words = counts.Select(kv => (Parts: kv.Key.Split('\u0001', StringSplitOptions.RemoveEmptyEntries).ToList(), Count: kv.Value)).ToList();

        var merges = new List<(string A, string B)>();
        for (int k = 0; k < mergeCount; k++)
        {
            var pairs = new Dictionary<(string, string), long>();
            foreach (var (parts, count) in words)
                for (int i = 0; i + 1 < parts.Count; i++)
                    pairs[(parts[i], parts[i + 1])] = pairs.GetValueOrDefault((parts[i], parts[i + 1])) + count;
            if (pairs.Count == 0) break;
            // Most frequent pair; ties broken by ordinal order so the result is the same on every machine.
            var best = pairs.OrderByDescending(p => p.Value)
                            .ThenBy(p => p.Key.Item1, StringComparer.Ordinal)
                            .ThenBy(p => p.Key.Item2, StringComparer.Ordinal).First().Key;
            merges.Add(best);
            foreach (var (parts, _) in words)
                for (int i = 0; i + 1 < parts.Count; i++)
                    if (parts[i] == best.Item1 && parts[i + 1] == best.Item2)
                    {
                        parts[i] = best.Item1 + best.Item2;
                        parts.RemoveAt(i + 1);
                    }
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in symbols) vocab[s] = vocab.Count;
        foreach (var (a, b) in merges) vocab.TryAdd(a + b, vocab.Count);
        vocab[EndOfText] = vocab.Count;

        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllLines(Path.Combine(folder, "merges.txt"), new[] { "#version: 0.2" }.Concat(merges.Select(m => $"{m.A} {m.B}")));
        return vocab.Count;
    }
}
