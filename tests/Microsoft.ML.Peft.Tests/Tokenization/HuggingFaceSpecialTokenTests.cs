using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Decoders;
using Microsoft.ML.Peft.Tokenization;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>Added tokens, framing and the special token ids a folder's config files decide.</summary>
public sealed class HuggingFaceSpecialTokenTests
{
    const int Unk = 0, Bos = 1, Eos = 2, Space = 259;

    static HuggingFaceTokenizer Load(TempFolder folder, JsonObject? json = null, params (string File, string Json)[] files)
    {
        TokenizerJsonFixtures.Write(json ?? TokenizerJsonFixtures.TinyLlama2(), folder.File("tokenizer.json"));
        foreach ((string file, string text) in files) File.WriteAllText(folder.File(file), text);
        return HuggingFaceTokenizer.FromDirectory(folder.Path);
    }

    [Fact]
    public void AddedTokensAreMatchedWholeAndNeverSplit()
    {
        using var folder = new TempFolder();
        var tokenizer = Load(folder);
        // Legacy Llama 2 normalizer: every plain stretch, also the one after "</s>", gets its "▁" prefix.
        Assert.Equal([Bos, Bos, TinySentencePiece.The, Eos, Space, TinySentencePiece.SpaceC, TinySentencePiece.At],
            tokenizer.EncodeToIds("<s>the</s> cat"));
        // Decoding gives what Hugging Face gives: the legacy prefix shows as a second space after "</s>".
        Assert.Equal("<s><s> the</s>  cat", tokenizer.Decode(tokenizer.EncodeToIds("<s>the</s> cat"), skipSpecialTokens: false));
        Assert.Equal("the  cat", tokenizer.Decode(tokenizer.EncodeToIds("<s>the</s> cat")));
    }

    [Fact]
    public void MetaspaceFirstPrependsOnlyAtTheStartOfTheText()
    {
        using var folder = new TempFolder();
        var tokenizer = Load(folder, TokenizerJsonFixtures.TinyLlama2(metaspace: true));
        // "the" after "<s>" is not at the start: no "▁", so it is "t" + "he", not "▁the".
        Assert.Equal([Bos, 260, 266], tokenizer.EncodeToIds("<s>the", addSpecialTokens: false));
        Assert.Equal([TinySentencePiece.The, Bos], tokenizer.EncodeToIds("the<s>", addSpecialTokens: false));
    }

    [Fact]
    public void AddedTokenOptionsLStripRStripAndSingleWord()
    {
        JsonObject json = TokenizerJsonFixtures.TinyLlama2(metaspace: true);
        json["model"]!["vocab"]!["<mark>"] = 270;
        json["model"]!["vocab"]!["hat"] = 271;
        json["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 270, ["content"] = "<mark>", ["lstrip"] = true, ["rstrip"] = true, ["special"] = false });
        json["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 271, ["content"] = "hat", ["single_word"] = true, ["special"] = false });
        using var folder = new TempFolder();
        var tokenizer = Load(folder, json);
        // The spaces around <mark> are swallowed; "hat" is an added token only as a word of its own.
        Assert.Equal([TinySentencePiece.The, 270, TinySentencePiece.At], tokenizer.EncodeToIds("the  <mark>  at", addSpecialTokens: false));
        Assert.Equal([Space, 271], tokenizer.EncodeToIds(" hat", addSpecialTokens: false));
        Assert.DoesNotContain(271, tokenizer.EncodeToIds("that", addSpecialTokens: false));
        // Non-special added tokens survive skipSpecialTokens.
        Assert.Contains("<mark>", tokenizer.Decode([270, Eos]));
    }

    [Fact]
    public void AddBosAndAddEosTokenOfTokenizerConfigOverrideTheTemplate()
    {
        using var folder = new TempFolder();
        var tokenizer = Load(folder, files: ("tokenizer_config.json", """{"add_bos_token": false, "add_eos_token": true, "bos_token": {"content": "<s>", "special": true}, "eos_token": "</s>"}"""));
        Assert.Equal([TinySentencePiece.The, Eos], tokenizer.EncodeToIds("the"));

        using var other = new TempFolder();
        var withBos = Load(other, files: ("tokenizer_config.json", """{"add_eos_token": true, "eos_token": "</s>"}"""));
        Assert.Equal([Bos, TinySentencePiece.The, Eos], withBos.EncodeToIds("the"));  // add_bos_token unstated: the template's BOS stays
        Assert.Equal([Bos, TinySentencePiece.The, Eos, Bos, TinySentencePiece.SpaceC, TinySentencePiece.At, Eos],
            withBos.EncodeBatch(["the"], ["cat"]).InputIds.Select(i => (int)i).ToArray());
    }

    [Fact]
    public void SpecialIdsFollowTheDocumentedPrecedence()
    {
        using var folder = new TempFolder();
        // No token names: ids come from generation_config.json over config.json; eos may be a list; pad falls back to eos.
        var fromIds = Load(folder, null,
            ("config.json", """{"bos_token_id": 0, "eos_token_id": 1, "pad_token_id": null}"""),
            ("generation_config.json", """{"bos_token_id": 1, "eos_token_id": [2, 0]}"""));
        Assert.Equal(Bos, fromIds.SpecialTokens.Bos);
        Assert.Equal(Eos, fromIds.SpecialTokens.Eos);
        Assert.Equal([Eos, Unk], fromIds.EosTokenIds);
        Assert.Equal(Eos, fromIds.SpecialTokens.Pad);
        Assert.Equal(Unk, fromIds.SpecialTokens.Unk);  // the model's unk_token

        // Token names win over ids; special_tokens_map.json wins over tokenizer_config.json; config.json's pad id serves.
        using var named = new TempFolder();
        var fromNames = Load(named, null,
            ("tokenizer_config.json", """{"eos_token": "<s>", "pad_token": null}"""),
            ("special_tokens_map.json", """{"eos_token": {"content": "</s>", "lstrip": false}}"""),
            ("config.json", """{"eos_token_id": [1, 2], "pad_token_id": 0}"""));
        Assert.Equal(Eos, fromNames.SpecialTokens.Eos);
        Assert.Equal([Eos, Bos], fromNames.EosTokenIds);
        Assert.Equal(Unk, fromNames.SpecialTokens.Pad);

        using var padNamed = new TempFolder();
        Assert.Equal(Space, Load(padNamed, null, ("tokenizer_config.json", """{"pad_token": "\u2581"}"""), ("config.json", """{"pad_token_id": 0}""")).SpecialTokens.Pad);
    }

    [Fact]
    public void BatchesPadWithThePadIdAndDecodingSkipsIt()
    {
        using var folder = new TempFolder();
        var tokenizer = Load(folder, null, ("tokenizer_config.json", """{"eos_token": "</s>"}"""));
        var batch = tokenizer.EncodeBatch(["the cat", "the"]);
        Assert.Equal(new long[] { Bos, TinySentencePiece.The, TinySentencePiece.SpaceC, TinySentencePiece.At, Bos, TinySentencePiece.The, Eos, Eos }, batch.InputIds);
        Assert.Equal("the", tokenizer.Decode(batch.InputIds.Skip(4).Select(i => (int)i)));
    }

    [Fact]
    public void UnknownNamedTokenOrMissingBosForAddBosIsAnErrorNamingTheKey()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<InvalidDataException>(() => Load(folder, null, ("tokenizer_config.json", """{"bos_token": "<|begin|>"}""")));
        Assert.Contains("bos_token '<|begin|>'", e.Message);
        Assert.Contains(folder.Path, e.Message);

        JsonObject noTemplate = TokenizerJsonFixtures.TinyLlama2();
        noTemplate["post_processor"] = null;
        using var other = new TempFolder();
        var missing = Assert.Throws<InvalidDataException>(() => Load(other, noTemplate, ("tokenizer_config.json", """{"add_eos_token": true}""")));
        Assert.Contains("add_eos_token", missing.Message);
    }
}
