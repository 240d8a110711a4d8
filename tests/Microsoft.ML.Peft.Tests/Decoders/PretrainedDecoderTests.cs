using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Models.Llama;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Decoders;

public sealed class PretrainedDecoderTests
{
    public static TheoryData<string, long?> Cases => new()
    {
        { "gpt2", null }, { "gpt2", 1000 }, { "gpt2-untied", null },
        { "llama", null }, { "llama", 1000 }, { "llama-tied", null },
        { "qwen2", null }, { "qwen2", 1000 }, { "mistral", null },
    };

    static (nn.Module Module, string Json) Source(string kind)
    {
        switch (kind)
        {
            case "gpt2":
            case "gpt2-untied":
                var g = TinyDecoders.Gpt2Model(tied: kind == "gpt2", seed: 1);
                return (g, g.Config.ToJson());
            default:
                var config = kind == "qwen2" ? TinyDecoders.Qwen2() : TinyDecoders.Llama(tied: kind == "llama-tied");
                if (kind == "mistral") config.ModelType = "mistral";
                var l = TinyDecoders.LlamaModel(config, seed: 1);
                return (l, l.Config.ToJson());
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SavedFolderReloadsStrictlyWithIdenticalLogits(string kind, long? shardBytes)
    {
        using var folder = new TempFolder();
        var (source, json) = Source(kind);
        File.WriteAllText(folder.File("config.json"), json);
        SafeTensorsCheckpoint.Save(folder.Path, source.state_dict(), shardBytes);
        if (shardBytes is not null) Assert.True(File.Exists(folder.File("model.safetensors.index.json")));

        var pretrained = PretrainedDecoder.FromDirectory(folder.Path);
        Assert.Equal(kind.Split('-')[0], pretrained.ModelType);
        var loaded = pretrained.LoadModel();
        using var scope = NewDisposeScope();
        var ids = TinyDecoders.Ids(3, 1, 4, 1, 5, 9);
        var expected = ((ICausalLM)source).forward(ids);
        Assert.True(expected.eq(loaded.forward(ids)).all().item<bool>());
        Assert.False(pretrained.HasTokenizer);
        var e = Assert.Throws<NotSupportedException>(() => pretrained.Tokenizer);
        Assert.Contains("tokenizer", e.Message);
        source.Dispose();
        ((nn.Module)loaded).Dispose();
    }

    [Fact]
    public void UnknownModelTypeFailsNamingIt()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), """{"model_type": "falcon"}""");
        var e = Assert.Throws<NotSupportedException>(() => PretrainedDecoder.FromDirectory(folder.Path));
        Assert.Contains("falcon", e.Message);
        Assert.Contains("gpt2, llama, mistral, qwen2", e.Message);
    }

    [Fact]
    public void InvalidConfigFailsNamingTheField()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), """{"model_type": "llama", "hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 3}""");
        var e = Assert.Throws<InvalidDataException>(() => PretrainedDecoder.FromDirectory(folder.Path));
        Assert.Contains("num_key_value_heads", e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void MissingWeightFailsNamingTheKey()
    {
        using var folder = new TempFolder();
        var (source, json) = Source("qwen2");
        File.WriteAllText(folder.File("config.json"), json);
        SafeTensorsCheckpoint.Save(folder.Path, source.state_dict().Where(p => p.Key != "model.layers.1.self_attn.k_proj.bias"));
        var e = Assert.Throws<CheckpointException>(() => PretrainedDecoder.FromDirectory(folder.Path).LoadModel());
        TensorAssert.MessageNames(e, "model.layers.1.self_attn.k_proj.bias");
        source.Dispose();
    }

    [Fact]
    public void Generation_config_eos_ids_end_generation()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), """
            {"model_type": "llama", "vocab_size": 97, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 1,
             "num_attention_heads": 4, "num_key_value_heads": 2, "eos_token_id": 2}
            """);
        File.WriteAllText(folder.File("generation_config.json"), """{"eos_token_id": [2, 7], "do_sample": false}""");
        using (var model = new LlamaForCausalLM(new LlamaConfig { VocabSize = 97, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2 }))
            SafeTensorsCheckpoint.Save(folder.Path, model.state_dict());
        var loaded = PretrainedDecoder.FromDirectory(folder.Path).LoadModel();
        Assert.Equal(new[] { 2, 7 }, loaded.EosTokenIds);
        ((nn.Module)loaded).Dispose();
    }

    [Fact]
    public void LlamaConfigReadsTransformers5RopeParameters()
    {
        // transformers 5 writes the RoPE base and scaling together under rope_parameters, and no top-level rope_theta.
        var config = System.Text.Json.JsonSerializer.Deserialize<LlamaConfig>("""
            {"model_type": "qwen2", "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0}}
            """)!;
        Assert.Equal(500000.0, config.RotaryBase);
        Assert.Null(config.RotaryScaling);

        var scaled = System.Text.Json.JsonSerializer.Deserialize<LlamaConfig>("""
            {"model_type": "llama", "rope_theta": 10000.0,
             "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 250000.0}}
            """)!;
        Assert.Equal(250000.0, scaled.RotaryBase);
        Assert.Equal("linear", scaled.RotaryScaling!.Method);
        Assert.Equal(2.0, scaled.RotaryScaling.Factor);

        var older = new LlamaConfig { RopeTheta = 1e6 };
        Assert.Equal(1e6, older.RotaryBase);
    }

    [Fact]
    public void LlamaConfigReadsHuggingFaceFields()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), """
            {"model_type": "llama", "vocab_size": 97, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 1,
             "num_attention_heads": 4, "num_key_value_heads": 2, "eos_token_id": [1, 5], "bos_token_id": 0,
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192}, "torch_dtype": "bfloat16", "tie_word_embeddings": true}
            """);
        using (var model = new LlamaForCausalLM(new LlamaConfig { VocabSize = 97, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2, TieWordEmbeddings = true }))
            SafeTensorsCheckpoint.Save(folder.Path, model.state_dict());
        var pretrained = PretrainedDecoder.FromDirectory(folder.Path);
        var config = pretrained.LlamaConfig!;
        Assert.Equal(new[] { 1, 5 }, config.EosTokenId);
        Assert.Equal("llama3", config.RopeScaling!.Method);
        Assert.True(config.Extra!.ContainsKey("torch_dtype"));
        var model2 = pretrained.LoadModel();
        Assert.Equal(new[] { 1, 5 }, model2.EosTokenIds);
        ((nn.Module)model2).Dispose();
    }

    [Fact]
    public void Gpt2FolderWithTokenizerGeneratesText()
    {
        using var fixture = new Gpt2Fixture();
        using var folder = new TempFolder();
        var model = TinyDecoders.Gpt2Model(vocab: 50257, seed: 3);
        File.WriteAllText(folder.File("config.json"), model.Config.ToJson());
        SafeTensorsCheckpoint.Save(folder.Path, model.state_dict());
        File.Copy(fixture.VocabPath, folder.File("vocab.json"));
        File.Copy(fixture.MergesPath, folder.File("merges.txt"));
        var pretrained = PretrainedDecoder.FromDirectory(folder.Path);
        var generator = pretrained.CreateGenerator();
        var options = new GenerationOptions { MaxNewTokens = 8, EosTokenIds = Array.Empty<int>() };
        string text = generator.Generate("Hello world", options);
        var ids = generator.GenerateIds(new[] { fixture.Tokenizer.EncodeToIds("Hello world") }, options)[0];
        Assert.Equal(8, ids.Length);
        Assert.Equal(fixture.Tokenizer.Decode(ids), text);
        model.Dispose();
    }

    [Fact]
    public void LlamaFolderWithSentencePieceGeneratesFromText()
    {
        using var folder = new TempFolder();
        var config = TinyDecoders.Llama();
        config.VocabSize = 270;
        var model = TinyDecoders.LlamaModel(config, seed: 3);
        File.WriteAllText(folder.File("config.json"), config.ToJson());
        SafeTensorsCheckpoint.Save(folder.Path, model.state_dict(), 20_000);
        TinySentencePiece.Write(folder.File("tokenizer.model"));
        var pretrained = PretrainedDecoder.FromDirectory(folder.Path);
        Assert.True(pretrained.HasTokenizer);
        var generator = pretrained.CreateGenerator();
        var options = new GenerationOptions { MaxNewTokens = 5, EosTokenIds = Array.Empty<int>() };
        var fromText = generator.Generate(new[] { "the cat", "the" }, options);
        var fromIds = generator.GenerateIds(new[] { new[] { 1, 267, 269, 268 }, new[] { 1, 267 } }, options);
        Assert.Equal(fromIds.Select(r => pretrained.Tokenizer.Decode(r)), fromText);
        model.Dispose();
    }

    [Fact]
    public void LoadsInBFloat16AndGenerates()
    {
        using var folder = new TempFolder();
        var (source, json) = Source("qwen2");
        File.WriteAllText(folder.File("config.json"), json);
        SafeTensorsCheckpoint.Save(folder.Path, source.state_dict());
        var model = PretrainedDecoder.FromDirectory(folder.Path).LoadModel(dtype: ScalarType.BFloat16);
        Assert.All(((nn.Module)model).parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        var ids = new TextGenerator(model).GenerateIds(TinyDecoders.Prompts, new GenerationOptions { MaxNewTokens = 4, EosTokenIds = Array.Empty<int>() });
        Assert.All(ids, row => Assert.Equal(4, row.Length));
        source.Dispose();
        ((nn.Module)model).Dispose();
    }
}
