using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>Choosing and configuring a tokenizer from a model folder.</summary>
public sealed class TokenizerLoaderTests : IClassFixture<BertVocabFixture>, IDisposable
{
    private readonly BertVocabFixture _bert;
    private readonly string _folder = NuGetPackages.NewTempFolder("loader");

    public TokenizerLoaderTests(BertVocabFixture bert) => _bert = bert;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void PicksWordPieceWhenTheFolderHasVocabTxt()
    {
        File.Copy(_bert.VocabPath, Path.Combine(_folder, "vocab.txt"));
        TransformerTokenizer tokenizer = TokenizerLoader.FromDirectory(_folder, "bert");
        Assert.IsType<BertWordPieceTokenizer>(tokenizer);
        Assert.Equal([101, 7592, 2088, 102], tokenizer.EncodeToIds("Hello world"));
    }

    [Fact]
    public void HonoursDoLowerCaseFromTokenizerConfig()
    {
        File.Copy(_bert.VocabPath, Path.Combine(_folder, "vocab.txt"));
        File.WriteAllText(Path.Combine(_folder, "tokenizer_config.json"), """{ "do_lower_case": false, "model_max_length": 512 }""");
        var tokenizer = Assert.IsType<BertWordPieceTokenizer>(TokenizerLoader.FromDirectory(_folder));
        Assert.False(tokenizer.LowerCase);
    }

    [Fact]
    public void PicksRobertaFramingFromConfigJson()
    {
        using var files = new TinyBpeFiles(roberta: true);
        File.WriteAllText(Path.Combine(files.Folder, "config.json"), """{ "model_type": "roberta" }""");
        File.WriteAllText(Path.Combine(files.Folder, "special_tokens_map.json"),
            """{ "bos_token": "<s>", "eos_token": "</s>", "pad_token": { "content": "<pad>", "lstrip": false }, "cls_token": "<s>", "sep_token": "</s>" }""");
        var tokenizer = Assert.IsType<ByteLevelBpeTokenizer>(TokenizerLoader.FromDirectory(files.Folder));
        Assert.Equal(SequenceTemplate.Roberta(0, 2).SpecialTokenCount(pair: true), tokenizer.Template.SpecialTokenCount(pair: true));
        Assert.Equal(1, tokenizer.SpecialTokens.Pad);
        Assert.Equal([0, files.Vocab["low"], 2], tokenizer.EncodeToIds("low"));
    }

    [Fact]
    public void PicksGpt2FramingForGpt2()
    {
        using var files = new TinyBpeFiles(roberta: false);
        var tokenizer = Assert.IsType<ByteLevelBpeTokenizer>(TokenizerLoader.FromDirectory(files.Folder, "gpt2"));
        Assert.Equal([files.Vocab["low"]], tokenizer.EncodeToIds("low"));
        Assert.Equal(files.Vocab["<|endoftext|>"], tokenizer.SpecialTokens.Pad);
    }

    [Fact]
    public void GuessesTheFramingFromTheVocabularyWithoutModelType()
    {
        using var roberta = new TinyBpeFiles(roberta: true);
        using var gpt2 = new TinyBpeFiles(roberta: false);
        Assert.Equal(2, TokenizerLoader.FromDirectory(roberta.Folder).Template.SpecialTokenCount(pair: false));
        Assert.Equal(0, TokenizerLoader.FromDirectory(gpt2.Folder).Template.SpecialTokenCount(pair: false));
    }

    [Fact]
    public void NamesTheFolderAndTheExpectedFilesWhenNoTokenizerIsThere()
    {
        File.WriteAllText(Path.Combine(_folder, "vocab.json"), "{}"); // merges.txt missing: not a BPE tokenizer either
        var e = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.FromDirectory(_folder));
        Assert.Contains(_folder, e.Message);
        Assert.Contains("vocab.txt", e.Message);
        Assert.Contains("vocab.json + merges.txt", e.Message);
    }

    [Fact]
    public void NamesAMissingFolder()
    {
        string missing = Path.Combine(_folder, "nope");
        var e = Assert.Throws<DirectoryNotFoundException>(() => TokenizerLoader.FromDirectory(missing));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void NamesAnInvalidConfigFile()
    {
        File.Copy(_bert.VocabPath, Path.Combine(_folder, "vocab.txt"));
        string config = Path.Combine(_folder, "tokenizer_config.json");
        File.WriteAllText(config, "{ not json");
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromDirectory(_folder));
        Assert.Contains(config, e.Message);
    }
}
