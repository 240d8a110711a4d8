using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>RoBERTa framing, padding and truncation on a tiny byte-level BPE model.</summary>
public sealed class RobertaFramingTests : IDisposable
{
    private readonly TinyBpeFiles _files = new(roberta: true);
    private readonly ByteLevelBpeTokenizer _tokenizer;
    private readonly int _low, _spaceLow, _er;

    public RobertaFramingTests()
    {
        _tokenizer = ByteLevelBpeTokenizer.FromFiles(_files.VocabPath, _files.MergesPath, ByteLevelBpeOptions.Roberta());
        _low = _files.Vocab["low"];
        _spaceLow = _files.Vocab["Ġlow"];
        _er = _files.Vocab["er"];
    }

    public void Dispose() => _files.Dispose();

    [Fact]
    public void UsesRobertaSpecialTokenIds()
    {
        SpecialTokenIds ids = _tokenizer.SpecialTokens;
        Assert.Equal((0, 2, 1, 3), (ids.Bos!.Value, ids.Eos!.Value, ids.Pad, ids.Unk!.Value));
        Assert.Equal(_files.Vocab["<mask>"], ids.Mask);
        Assert.Equal(_files.Vocab.Count, _tokenizer.VocabularySize);
    }

    [Fact]
    public void AppliesTheMergesInPriorityOrder()
    {
        Assert.Equal([_low, _spaceLow, _er], _tokenizer.EncodeToIds("low lower", addSpecialTokens: false));
    }

    [Fact]
    public void FramesOneTextWithBosAndEos()
    {
        Assert.Equal([0, _low, _spaceLow, _er, 2], _tokenizer.EncodeToIds("low lower"));
        Assert.Equal([0, 2], _tokenizer.EncodeToIds(string.Empty));
    }

    [Fact]
    public void FramesPairsWithADoubleSeparatorAndTypeIdsZero()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["low"], [" lower"]);
        Assert.Equal([0, _low, 2, 2, _spaceLow, _er, 2], batch.Row(0));
        Assert.Equal([0, 0, 0, 0, 0, 0, 0], batch.TokenTypeRow(0));
    }

    [Fact]
    public void PadsWithPadIdOneAndTruncatesCountingSpecials()
    {
        TokenizedBatch batch = _tokenizer.EncodeBatch(["low", "low lower"], maxLength: 4, padding: PaddingMode.MaxLength);
        Assert.Equal([0, _low, 2, 1], batch.Row(0));
        Assert.Equal([1, 1, 1, 0], batch.MaskRow(0));
        Assert.Equal([0, _low, _spaceLow, 2], batch.Row(1));

        // A pair needs 4 special tokens with RoBERTa.
        Assert.Throws<ArgumentOutOfRangeException>(() => _tokenizer.EncodeBatch(["low"], ["low"], maxLength: 3));
    }

    [Fact]
    public void AddsAPrefixSpaceWhenAsked()
    {
        ByteLevelBpeOptions options = ByteLevelBpeOptions.Roberta();
        options.AddPrefixSpace = true;
        var tokenizer = ByteLevelBpeTokenizer.FromFiles(_files.VocabPath, _files.MergesPath, options);
        Assert.Equal([_spaceLow], tokenizer.EncodeToIds("low", addSpecialTokens: false));
    }

    [Fact]
    public void DecodesWithoutSpecialTokens()
    {
        Assert.Equal("low lower", _tokenizer.Decode(_tokenizer.EncodeBatch(["low lower"], maxLength: 9, padding: PaddingMode.MaxLength).Row(0).Select(i => (int)i)));
    }

    [Fact]
    public void ReportsAMissingRobertaTokenWithTheFile()
    {
        using var gpt2Style = new TinyBpeFiles(roberta: false);
        var e = Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.FromFiles(gpt2Style.VocabPath, gpt2Style.MergesPath, ByteLevelBpeOptions.Roberta()));
        Assert.Contains(gpt2Style.VocabPath, e.Message);
        Assert.Contains("</s>", e.Message);
    }

    [Fact]
    public void ReportsABadMergeLineWithFileAndLine()
    {
        File.AppendAllLines(_files.MergesPath, ["oops"]);
        var e = Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.FromFiles(_files.VocabPath, _files.MergesPath, ByteLevelBpeOptions.Roberta()));
        Assert.Contains(_files.MergesPath, e.Message);
        Assert.Contains("line 6", e.Message);
        Assert.Contains("'oops'", e.Message);
    }

    [Fact]
    public void ReportsMissingFilesByName()
    {
        string missing = Path.Combine(_files.Folder, "missing.json");
        var e = Assert.Throws<FileNotFoundException>(() => ByteLevelBpeTokenizer.FromFiles(missing, _files.MergesPath));
        Assert.Contains(missing, e.Message);
    }
}
