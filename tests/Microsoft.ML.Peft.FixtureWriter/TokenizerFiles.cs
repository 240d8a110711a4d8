using System.Security.Cryptography;
using Microsoft.ML.Peft.Tests.Tokenization;

namespace Microsoft.ML.Peft.FixtureWriter;

/// <summary>
/// The tokenizer files TokenizerParityTests builds, written for Hugging Face to read: tokenizer.json of GPT-2, of a
/// Llama 3 style variant and of a tiny Llama 2 style SentencePiece BPE (with and without Metaspace), from the tests' own
/// writers, and all-MiniLM-L6-v2's vocab.txt. The test checks each file's SHA-256 against the one recorded.
/// </summary>
internal static class TokenizerFiles
{
    public static void Write(string root)
    {
        using (var gpt2 = new Gpt2Fixture())
        {
            WriteJson(root, "gpt2", TokenizerJsonFixtures.Gpt2(gpt2, pairMerges: false));
            WriteJson(root, "llama3_style", TokenizerJsonFixtures.Llama3Style(gpt2));
        }
        WriteJson(root, "llama2_style", TokenizerJsonFixtures.TinyLlama2(metaspace: false));
        WriteJson(root, "llama2_style_metaspace", TokenizerJsonFixtures.TinyLlama2(metaspace: true));
        using var bert = new BertVocabFixture();
        string vocab = Path.Combine(Recreate(root, "bert_uncased"), "vocab.txt");
        File.Copy(bert.VocabPath, vocab);
        Report("bert_uncased", vocab);
    }

    static void WriteJson(string root, string name, System.Text.Json.Nodes.JsonObject json)
    {
        string path = Path.Combine(Recreate(root, name), "tokenizer.json");
        TokenizerJsonFixtures.Write(json, path);
        Report(name, path);
    }

    // Only the case folders this program writes are replaced, never the root it was given.
    static string Recreate(string root, string name)
    {
        string folder = Path.Combine(root, name);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        return folder;
    }

    static void Report(string name, string path) =>
        Console.WriteLine($"{name}: {path}, SHA-256 {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant()}");
}
