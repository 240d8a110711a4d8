using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tokenization;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Our tokenizers against Hugging Face's own (<c>make_tokenizer_reference.py</c>): the tokenizer.json files our tests
/// build (GPT-2, Llama 3 style, Llama 2 style with and without Metaspace) read by <c>tokenizers</c>, all-MiniLM-L6-v2's
/// vocab.txt by its WordPiece, and the Generation sample's files by <c>AutoTokenizer</c>, must give the same ids for
/// every text, with and without special tokens. Also the sample's shipped model gives transformers' logits.
/// </summary>
public sealed class TokenizerParityTests(ITestOutputHelper output)
{
    static string Reference => Path.Combine(HfReferenceFixture.Root, "tokenizers.json");

    static string SampleModel => Path.GetFullPath(Path.Combine(HfReferenceFixture.Root, "..", "..", "..", "..", "samples", "Generation", "Model"));

    static readonly string[] Names = TokenizerParityFiles.Names.Append("generation_sample").ToArray();

    public static TheoryData<string> Tokenizers => new(Names);

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Ids_match_hugging_face(string name)
    {
        Assert.True(File.Exists(Reference), HfReferenceFixture.Missing(Reference));
        using var json = JsonDocument.Parse(File.ReadAllText(Reference));
        var texts = json.RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToArray();
        Assert.True(texts.Length >= 10, $"{Reference} holds only {texts.Length} texts.");
        var expected = json.RootElement.GetProperty("cases").GetProperty(name);

        using var folder = new TempFolder();
        var (tokenizer, file) = Build(name, folder.Path);
        string sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))).ToLowerInvariant();
        Assert.True(sha == expected.GetProperty("sha256").GetString(),
            $"{name}: {file} is not the file Hugging Face read (SHA-256 {sha}); regenerate tokenizers.json as Fixtures/HuggingFace/README.md says.");

        foreach (var (key, special) in new[] { ("ids", false), ("ids_with_special_tokens", true) })
        {
            var rows = expected.GetProperty(key).EnumerateArray().ToArray();
            Assert.Equal(texts.Length, rows.Length);
            for (int i = 0; i < texts.Length; i++)
            {
                var theirs = rows[i].EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var ours = tokenizer.EncodeToIds(texts[i], addSpecialTokens: special);
                Assert.True(theirs.SequenceEqual(ours),
                    $"{name}, text {i} {JsonSerializer.Serialize(texts[i])}, special tokens {special}: ours [{string.Join(" ", ours)}], " +
                    $"Hugging Face [{string.Join(" ", theirs)}] ({expected.GetProperty("reader").GetString()}).");
            }
        }
        output.WriteLine($"{name}: {texts.Length} texts equal with and without special tokens");
    }

    [Fact]
    public void Every_recorded_tokenizer_is_a_listed_case()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Reference));
        var recorded = json.RootElement.GetProperty("cases").EnumerateObject().Select(p => p.Name).Order();
        Assert.Equal(Names.Order(), recorded);
    }

    [Fact]
    public void Shipped_decoder_gives_transformers_logits()
    {
        string path = Path.Combine(HfReferenceFixture.Root, "generation_sample.safetensors");
        Assert.True(File.Exists(path), HfReferenceFixture.Missing(path));
        using var scope = NewDisposeScope();
        using var reference = SafeTensorsFile.Open(path);
        var ids = reference.ReadTensor("input_ids");   // (1, T)
        using var module = (nn.Module)PretrainedDecoder.FromDirectory(SampleModel).LoadModel();
        var model = (ICausalLM)module;
        using var noGrad = no_grad();
        double max = RealTokenDifference.AssertWithin(model.forward(ids), reference.ReadTensor("logits"), ones_like(ids), 1e-4,
            "ours - transformers", $"{path} (if the sample's model was retrained, regenerate it)");
        output.WriteLine($"shipped decoder: max |logits diff| {max:G3} over {ids.shape[1]} tokens");
    }

    // Our tokenizer for a case, from the same file Hugging Face read.
    static (TransformerTokenizer Tokenizer, string File) Build(string name, string folder)
    {
        if (name == "generation_sample")
            return (PretrainedDecoder.FromDirectory(SampleModel).Tokenizer, Path.Combine(SampleModel, "vocab.json"));
        string file = TokenizerParityFiles.Write(name, folder);
        return (name == "bert_uncased" ? BertWordPieceTokenizer.FromVocabFile(file) : HuggingFaceTokenizer.FromDirectory(folder), file);
    }
}
