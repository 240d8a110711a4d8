using Microsoft.ML.Peft.Models.Bert;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models;

public class BertModelTests
{
    // Hugging Face's BertModel.state_dict() keys for a 2-layer config (transformers >= 4.31, where
    // position_ids and token_type_ids are non-persistent buffers), written out by hand from HF's naming.
    static IEnumerable<string> HfLayerKeys(string prefix, int layer)
    {
        string l = $"{prefix}encoder.layer.{layer}.";
        foreach (var p in new[] { "attention.self.query", "attention.self.key", "attention.self.value",
                                  "attention.output.dense", "attention.output.LayerNorm",
                                  "intermediate.dense", "output.dense", "output.LayerNorm" })
        {
            yield return l + p + ".weight";
            yield return l + p + ".bias";
        }
    }

    static List<string> HfBertKeys(string prefix, int layers, bool pooler)
    {
        var keys = new List<string>
        {
            prefix + "embeddings.word_embeddings.weight", prefix + "embeddings.position_embeddings.weight",
            prefix + "embeddings.token_type_embeddings.weight", prefix + "embeddings.LayerNorm.weight", prefix + "embeddings.LayerNorm.bias",
        };
        for (int i = 0; i < layers; i++) keys.AddRange(HfLayerKeys(prefix, i));
        if (pooler) keys.AddRange(new[] { prefix + "pooler.dense.weight", prefix + "pooler.dense.bias" });
        return keys;
    }

    [Fact]
    public void BertModel_state_dict_keys_equal_hugging_face()
    {
        using var model = new BertModel(TinyBert.Config());
        Assert.Equal(HfBertKeys("", 2, pooler: true), model.state_dict().Keys.ToList());
    }

    [Fact]
    public void BertForSequenceClassification_keys_equal_hugging_face()
    {
        using var model = new BertForSequenceClassification(TinyBert.Config(), numLabels: 3);
        var expected = HfBertKeys("bert.", 2, pooler: true).Concat(new[] { "classifier.weight", "classifier.bias" });
        Assert.Equal(expected, model.state_dict().Keys);
        Assert.Equal(new long[] { 3, 32 }, model.state_dict()["classifier.weight"].shape);
    }

    [Fact]
    public void RobertaForSequenceClassification_keys_equal_hugging_face()
    {
        using var model = new RobertaForSequenceClassification(TinyBert.Config("roberta"), numLabels: 2);
        var expected = HfBertKeys("roberta.", 2, pooler: false)
            .Concat(new[] { "classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias" });
        Assert.Equal(expected, model.state_dict().Keys);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void Padding_does_not_change_the_states_of_real_tokens(string modelType)
    {
        manual_seed(1);
        var config = TinyBert.Config(modelType);
        using var model = new BertModel(config);
        model.eval();
        long pad = config.PadTokenId;
        using var alone = tensor(new long[] { 5, 17, 23, 42 }, new long[] { 1, 4 });
        using var padded = tensor(new long[] { 5, 17, 23, 42, pad, pad, 7, 8, 9, 10, 11, 12 }, new long[] { 2, 6 });
        using var mask = tensor(new long[] { 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1 }, new long[] { 2, 6 });
        using var scope = NewDisposeScope();

        var expected = model.forward(alone).LastHiddenState[0];
        var actual = model.forward(padded, mask).LastHiddenState[0, ..4];
        Assert.True(actual.allclose(expected, rtol: 0, atol: 1e-5), $"max diff {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Masked_tokens_do_not_influence_the_output()
    {
        manual_seed(2);
        using var model = new BertModel(TinyBert.Config());
        model.eval();
        using var scope = NewDisposeScope();
        var mask = tensor(new long[] { 1, 1, 1, 0 }, new long[] { 1, 4 });
        var a = model.forward(tensor(new long[] { 3, 4, 5, 6 }, new long[] { 1, 4 }), mask).LastHiddenState[0, ..3];
        var b = model.forward(tensor(new long[] { 3, 4, 5, 77 }, new long[] { 1, 4 }), mask).LastHiddenState[0, ..3];
        Assert.True(a.allclose(b, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void Init_follows_hugging_face_and_keeps_padding_rows_zero()
    {
        manual_seed(3);
        var config = TinyBert.Config("roberta");
        using var model = new BertModel(config);
        var sd = model.state_dict();
        Assert.Equal(0f, sd["embeddings.word_embeddings.weight"][config.PadTokenId].abs().sum().item<float>());
        Assert.Equal(0f, sd["embeddings.position_embeddings.weight"][config.PadTokenId].abs().sum().item<float>());
        Assert.Equal(1f, sd["embeddings.LayerNorm.weight"].mean().item<float>());
        Assert.Equal(0f, sd["encoder.layer.0.attention.self.query.bias"].abs().sum().item<float>());
        float std = sd["encoder.layer.0.intermediate.dense.weight"].std().item<float>();
        Assert.InRange(std, 0.015f, 0.025f);
    }

    [Fact]
    public void Too_long_input_is_rejected_with_the_limit()
    {
        using var model = new BertModel(TinyBert.Config());
        using var ids = zeros(1, 65, dtype: ScalarType.Int64);
        var e = Assert.Throws<ArgumentException>(() => model.forward(ids));
        Assert.Contains("64 positions", e.Message);
    }

    [Fact]
    public void Bad_config_names_the_field()
    {
        var config = TinyBert.Config();
        config.NumAttentionHeads = 5;
        var e = Assert.Throws<InvalidDataException>(() => new BertModel(config));
        Assert.Contains("num_attention_heads", e.Message);
        config = TinyBert.Config();
        config.HiddenAct = "swiglu";
        Assert.Contains("hidden_act 'swiglu'", Assert.Throws<NotSupportedException>(() => new BertModel(config)).Message);
    }
}
