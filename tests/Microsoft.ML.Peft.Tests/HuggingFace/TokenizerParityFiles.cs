using Microsoft.ML.Peft.Tests.Tokenization;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// The tokenizer files of <see cref="TokenizerParityTests"/>, built by the tests' own writers: what the test reads, and
/// what <c>tests/Microsoft.ML.Peft.FixtureWriter -- tokenizers</c> writes for make_tokenizer_reference.py to read.
/// </summary>
internal static class TokenizerParityFiles
{
    /// <summary>The cases that have a file here (the Generation sample's tokenizer is read from the sample's folder).</summary>
    public static readonly string[] Names = { "gpt2", "llama3_style", "llama2_style", "llama2_style_metaspace", "bert_uncased" };

    /// <summary>Writes the file of case <paramref name="name"/> into <paramref name="folder"/> and returns its path.</summary>
    public static string Write(string name, string folder)
    {
        string tokenizerJson = Path.Combine(folder, "tokenizer.json");
        switch (name)
        {
            case "gpt2" or "llama3_style":
                using (var gpt2 = new Gpt2Fixture())
                    TokenizerJsonFixtures.Write(name == "gpt2" ? TokenizerJsonFixtures.Gpt2(gpt2, pairMerges: false) : TokenizerJsonFixtures.Llama3Style(gpt2), tokenizerJson);
                return tokenizerJson;
            case "llama2_style" or "llama2_style_metaspace":
                TokenizerJsonFixtures.Write(TokenizerJsonFixtures.TinyLlama2(metaspace: name.EndsWith("metaspace", StringComparison.Ordinal)), tokenizerJson);
                return tokenizerJson;
            case "bert_uncased":
                string vocab = Path.Combine(folder, "vocab.txt");
                using (var bert = new BertVocabFixture()) File.Copy(bert.VocabPath, vocab);
                return vocab;
            default:
                throw new ArgumentException($"No tokenizer file for case '{name}'.", nameof(name));
        }
    }
}
