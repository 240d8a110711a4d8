using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Models.Bert;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models;

public class PretrainedModelTests
{
    static Tensor Ids(long vocab) => tensor(new long[] { 2, 7, 9, 11, 3, 5, 6, 3 }.Select(i => i % vocab).ToArray(), new long[] { 2, 4 });

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static void AssertSameOutputs(BertModel expected, BertModel actual)
    {
        expected.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = Ids(expected.Config.VocabSize);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 0 }, new long[] { 2, 4 });
        var a = expected.forward(ids, mask);
        var b = actual.forward(ids, mask);
        Assert.True(Same(a.LastHiddenState, b.LastHiddenState), "last hidden states differ");
        Assert.Equal(a.PoolerOutput is null, b.PoolerOutput is null);
        if (a.PoolerOutput is not null) Assert.True(Same(a.PoolerOutput, b.PoolerOutput!));
    }

    [Theory]
    [InlineData("bert", null)]
    [InlineData("bert", 20_000L)]    // sharded: several model-0000i-of-0000N.safetensors files plus the index
    [InlineData("roberta", null)]
    [InlineData("roberta", 20_000L)]
    public void Saved_folder_reloads_strictly_with_identical_outputs(string modelType, long? shardBytes)
    {
        using var folder = new TinyModelFolder(modelType, shardBytes);
        if (shardBytes is not null) Assert.True(File.Exists(folder.PathOf(SafeTensorsIndex.FileName)));

        var pretrained = PretrainedModel.FromDirectory(folder.Folder);
        Assert.Equal(modelType, pretrained.ModelType);
        Assert.Equal(folder.Config.HiddenSize, pretrained.Config.HiddenSize);
        using var reloaded = pretrained.LoadEncoder();
        Assert.Equal(folder.Source.state_dict().Keys, reloaded.state_dict().Keys);
        AssertSameOutputs((BertModel)folder.Source, reloaded);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void Sequence_classifier_gets_the_pretrained_encoder_and_a_fresh_head(string modelType)
    {
        using var folder = new TinyModelFolder(modelType);
        var pretrained = PretrainedModel.FromDirectory(folder.Folder);
        using var classifier = pretrained.LoadSequenceClassifier(numLabels: 3);
        var encoder = ((ISequenceClassifier)classifier).Encoder;
        foreach (var (key, value) in encoder.state_dict())
        {
            if (modelType == "roberta" && key.StartsWith("pooler.", StringComparison.Ordinal)) continue;
            Assert.True(Same(folder.Source.state_dict()[key], value), key);
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = ((ISequenceClassifier)classifier).Logits(Ids(folder.Config.VocabSize));
        Assert.Equal(new long[] { 2, 3 }, logits.shape);
    }

    [Fact]
    public void Fine_tuned_classifier_checkpoint_reloads_its_head()
    {
        var config = TinyBert.Config();
        manual_seed(11);
        var trained = new BertForSequenceClassification(config, numLabels: 2);
        using var folder = new TinyModelFolder("bert", model: trained);
        using var reloaded = PretrainedModel.FromDirectory(folder.Folder).LoadSequenceClassifier(numLabels: 2);
        var expected = trained.state_dict()["classifier.weight"];
        Assert.True(Same(reloaded.state_dict()["classifier.weight"], expected));
    }

    [Fact]
    public void Bf16_load_casts_parameters()
    {
        using var folder = new TinyModelFolder("bert");
        using var encoder = PretrainedModel.FromDirectory(folder.Folder).LoadEncoder(dtype: ScalarType.BFloat16);
        Assert.All(encoder.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
    }

    // ---- Errors name the problem, the file and the key ----

    [Fact]
    public void Unsupported_model_type_is_named()
    {
        using var folder = new TinyModelFolder("bert");
        File.WriteAllText(folder.PathOf("config.json"), File.ReadAllText(folder.PathOf("config.json")).Replace("\"bert\"", "\"gpt_neox\""));
        var e = Assert.Throws<NotSupportedException>(() => PretrainedModel.FromDirectory(folder.Folder));
        Assert.Contains("model_type 'gpt_neox'", e.Message);
        Assert.Contains("config.json", e.Message);
        Assert.Contains("bert, roberta", e.Message);
    }

    [Fact]
    public void Missing_config_vocab_or_folder_is_named()
    {
        using var folder = new TinyModelFolder("bert");
        File.Delete(folder.PathOf("vocab.txt"));
        var noVocab = Assert.Throws<FileNotFoundException>(() => PretrainedModel.FromDirectory(folder.Folder));
        Assert.Contains("vocab.txt", noVocab.Message);
        Assert.Contains(folder.Folder, noVocab.Message);

        File.Delete(folder.PathOf("config.json"));
        Assert.Contains("config.json", Assert.Throws<FileNotFoundException>(() => PretrainedModel.FromDirectory(folder.Folder)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => PretrainedModel.FromDirectory(folder.PathOf("nope")));
    }

    [Fact]
    public void Invalid_config_values_are_named()
    {
        using var folder = new TinyModelFolder("bert");
        File.WriteAllText(folder.PathOf("config.json"), File.ReadAllText(folder.PathOf("config.json")).Replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5"));
        var e = Assert.Throws<InvalidDataException>(() => PretrainedModel.FromDirectory(folder.Folder));
        Assert.Contains("num_attention_heads", e.Message);
        File.WriteAllText(folder.PathOf("config.json"), "{ not json");
        Assert.Contains("config.json", Assert.Throws<InvalidDataException>(() => PretrainedModel.FromDirectory(folder.Folder)).Message);
    }

    [Fact]
    public void Truncated_weights_fail_at_open_naming_the_file()
    {
        using var folder = new TinyModelFolder("bert");
        string weights = folder.PathOf("model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<CheckpointException>(() => PretrainedModel.FromDirectory(folder.Folder));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Missing_extra_and_misshaped_keys_are_named()
    {
        using var folder = new TinyModelFolder("bert");
        var state = folder.Source.state_dict();
        var edited = state.Where(kv => kv.Key != "encoder.layer.1.output.dense.bias")
            .Append(new("encoder.layer.9.extra.weight", zeros(2)))
            .Select(kv => kv.Key == "pooler.dense.weight" ? new KeyValuePair<string, Tensor>(kv.Key, zeros(32, 31)) : kv);
        SafeTensorsCheckpoint.Save(folder.Folder, edited);
        var pretrained = PretrainedModel.FromDirectory(folder.Folder);
        var e = Assert.Throws<CheckpointException>(() => pretrained.LoadEncoder());
        Assert.Contains("encoder.layer.1.output.dense.bias", e.Message);
        Assert.Contains("encoder.layer.9.extra.weight", e.Message);
        Assert.Contains("pooler.dense.weight", e.Message);
    }

    [Fact]
    public void Wrong_dtype_is_named()
    {
        using var folder = new TinyModelFolder("bert");
        var edited = folder.Source.state_dict()
            .Select(kv => kv.Key == "embeddings.LayerNorm.weight" ? new KeyValuePair<string, Tensor>(kv.Key, ones(32, dtype: ScalarType.Int64)) : kv);
        SafeTensorsCheckpoint.Save(folder.Folder, edited);
        var e = Assert.Throws<CheckpointException>(() => PretrainedModel.FromDirectory(folder.Folder).LoadEncoder());
        Assert.Contains("embeddings.LayerNorm.weight", e.Message);
        Assert.Contains("I64", e.Message);
    }
}
