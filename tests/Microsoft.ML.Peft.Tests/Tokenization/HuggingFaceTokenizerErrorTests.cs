using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>Bad tokenizer.json files fail with an error that names the file and the key.</summary>
public sealed class HuggingFaceTokenizerErrorTests
{
    static TException Fails<TException>(string json, params string[] expected) where TException : Exception
    {
        using var folder = new TempFolder();
        string path = folder.File("tokenizer.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<TException>(() => HuggingFaceTokenizer.FromDirectory(folder.Path));
        Assert.Contains(path, e.Message);
        foreach (string part in expected) Assert.Contains(part, e.Message);
        return e;
    }

    static string With(Action<JsonObject> change)
    {
        JsonObject json = TokenizerJsonFixtures.TinyLlama2();
        change(json);
        return json.ToJsonString();
    }

    [Fact]
    public void MalformedJson() => Fails<InvalidDataException>("""{"model": {"type": "BPE", "vocab": {"a": 0,}""", "not valid JSON");

    [Fact]
    public void MissingModelSection() => Fails<InvalidDataException>("""{"version": "1.0", "added_tokens": []}""", "model", "missing");

    [Theory]
    [InlineData("Unigram")]
    [InlineData("WordLevel")]
    [InlineData("Frobnicate")]
    public void UnsupportedModelType(string type) =>
        Fails<NotSupportedException>(With(j => j["model"]!["type"] = type), "model.type", $"'{type}'");

    [Fact]
    public void MergeOfUnknownTokens() =>
        Fails<InvalidDataException>(With(j => j["model"]!["merges"]!.AsArray().Insert(0, "x y")), "model.merges[0]", "'x'");

    [Fact]
    public void MalformedMerge() =>
        Fails<InvalidDataException>(With(j => j["model"]!["merges"]!.AsArray().Add(new JsonArray("a"))), "model.merges[5]");

    [Fact]
    public void NonIntegerVocabularyId() =>
        Fails<InvalidDataException>(With(j => j["model"]!["vocab"]!["a"] = "seven"), "model.vocab[\"a\"]");

    [Fact]
    public void UnsupportedPreTokenizerAndDecoder()
    {
        Fails<NotSupportedException>(With(j => j["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" }), "pre_tokenizer.type", "BertPreTokenizer");
        Fails<NotSupportedException>(With(j => j["decoder"]!["decoders"]![0] = new JsonObject { ["type"] = "CTC" }), "decoder.decoders[0].type", "CTC");
        Fails<NotSupportedException>(With(j => j["normalizer"] = new JsonObject { ["type"] = "Precompiled" }), "normalizer.type", "Precompiled");
    }

    [Fact]
    public void TemplateNamingAnUndefinedSpecialToken() =>
        Fails<InvalidDataException>(With(j => j["post_processor"]!["special_tokens"] = new JsonObject()), "post_processor.single[0].SpecialToken.id", "'<s>'");

    [Fact]
    public void ByteFallbackWithoutByteTokens() =>
        Fails<InvalidDataException>(With(j => j["model"]!["vocab"]!.AsObject().Remove("<0x41>")), "model.byte_fallback");

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<FileNotFoundException>(() => HuggingFaceTokenizer.FromDirectory(folder.Path));
        Assert.Contains(folder.File("tokenizer.json"), e.Message);
    }
}
