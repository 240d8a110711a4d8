using System.Text.Json;
using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>
/// A hand-made byte-level BPE model small enough to reason about: the 256 byte characters, four merges
/// ("l o", "lo w", "Ġ low", "e r") and, for the RoBERTa variant, its special tokens with RoBERTa's ids
/// (&lt;s&gt; 0, &lt;pad&gt; 1, &lt;/s&gt; 2, &lt;unk&gt; 3). Expected ids are read from <see cref="Vocab"/>.
/// </summary>
internal sealed class TinyBpeFiles : IDisposable
{
    public TinyBpeFiles(bool roberta)
    {
        Folder = NuGetPackages.NewTempFolder("tiny-bpe");
        Vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        if (roberta)
        {
            foreach (string special in new[] { "<s>", "<pad>", "</s>", "<unk>" })
            {
                Vocab[special] = Vocab.Count;
            }
        }

        foreach (char c in ByteLevelChars.Alphabet)
        {
            Vocab[c.ToString()] = Vocab.Count;
        }

        string[] merges = ["l o", "lo w", "Ġ low", "e r"];
        foreach (string merge in merges)
        {
            Vocab[merge.Replace(" ", string.Empty, StringComparison.Ordinal)] = Vocab.Count;
        }

        Vocab[roberta ? "<mask>" : "<|endoftext|>"] = Vocab.Count;
        File.WriteAllText(Path.Combine(Folder, TokenizerLoader.BpeVocabFile), JsonSerializer.Serialize(Vocab));
        File.WriteAllLines(Path.Combine(Folder, TokenizerLoader.BpeMergesFile), ["#version: 0.2", .. merges]);
    }

    public string Folder { get; }

    public string VocabPath => Path.Combine(Folder, TokenizerLoader.BpeVocabFile);

    public string MergesPath => Path.Combine(Folder, TokenizerLoader.BpeMergesFile);

    public Dictionary<string, int> Vocab { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
