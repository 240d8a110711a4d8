using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Tokenization;
using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Decoders;

/// <summary>Which tokenizer file PretrainedDecoder picks: tokenizer.json, else vocab.json + merges.txt, else tokenizer.model.</summary>
public sealed class DecoderTokenizerSelectionTests
{
    static TempFolder LlamaFolder(bool json, bool model)
    {
        var folder = new TempFolder();
        var config = TinyDecoders.Llama();
        config.VocabSize = 270;
        using (var weights = TinyDecoders.LlamaModel(config, seed: 3))
        {
            File.WriteAllText(folder.File("config.json"), config.ToJson());
            SafeTensorsCheckpoint.Save(folder.Path, weights.state_dict(), null);
        }

        if (json) TokenizerJsonFixtures.Write(TokenizerJsonFixtures.TinyLlama2(), folder.File("tokenizer.json"));
        if (model) TinySentencePiece.Write(folder.File("tokenizer.model"));
        return folder;
    }

    [Fact]
    public void TokenizerJsonWinsOverTokenizerModelAndBothGiveTheSameIds()
    {
        using var both = LlamaFolder(json: true, model: true);
        using var modelOnly = LlamaFolder(json: false, model: true);
        var fromJson = PretrainedDecoder.FromDirectory(both.Path).Tokenizer;
        var fromModel = PretrainedDecoder.FromDirectory(modelOnly.Path).Tokenizer;
        Assert.IsType<HuggingFaceTokenizer>(fromJson);
        Assert.IsType<LlamaSentencePieceTokenizer>(fromModel);
        const string text = "the cat é 🚀";
        Assert.Equal(fromModel.EncodeToIds(text), fromJson.EncodeToIds(text));
        Assert.Equal(text, fromJson.Decode(fromJson.EncodeToIds(text)));
    }

    [Fact]
    public void UnsupportedTokenizerJsonGivesWayToTokenizerModel()
    {
        using var folder = LlamaFolder(json: true, model: true);
        string json = File.ReadAllText(folder.File("tokenizer.json")).Replace("\"type\":\"BPE\"", "\"type\":\"Unigram\"", StringComparison.Ordinal);
        File.WriteAllText(folder.File("tokenizer.json"), json);
        Assert.IsType<LlamaSentencePieceTokenizer>(PretrainedDecoder.FromDirectory(folder.Path).Tokenizer);
    }

    [Fact]
    public void NoTokenizerExplainsWhatWasLookedFor()
    {
        using var folder = LlamaFolder(json: false, model: false);
        var pretrained = PretrainedDecoder.FromDirectory(folder.Path);
        Assert.False(pretrained.HasTokenizer);
        var e = Assert.Throws<NotSupportedException>(() => pretrained.Tokenizer);
        foreach (string part in new[] { folder.Path, "tokenizer.json", "vocab.json + merges.txt", "tokenizer.model" })
            Assert.Contains(part, e.Message);

        File.WriteAllText(folder.File("tokenizer.json"), """{"model": {"type": "Unigram", "vocab": []}}""");
        var unigram = Assert.Throws<NotSupportedException>(() => PretrainedDecoder.FromDirectory(folder.Path).Tokenizer);
        Assert.Contains("Unigram", unigram.Message);
    }

    [Fact]
    public void MalformedTokenizerJsonFailsTheLoadNamingTheFile()
    {
        using var folder = LlamaFolder(json: false, model: true);
        File.WriteAllText(folder.File("tokenizer.json"), "{ not json");
        var e = Assert.Throws<InvalidDataException>(() => PretrainedDecoder.FromDirectory(folder.Path));
        Assert.Contains(folder.File("tokenizer.json"), e.Message);
    }
}
