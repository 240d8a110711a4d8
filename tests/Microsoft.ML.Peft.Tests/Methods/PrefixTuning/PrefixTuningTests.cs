using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Methods.Common;
using Microsoft.ML.Peft.Tests.Models;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.PrefixTuning;

public class PrefixTuningTests
{
    [Theory]
    [InlineData("bert", 3, 2)]
    [InlineData("roberta", 5, 3)]
    public void Without_projection_it_trains_P_times_layers_times_2_times_hidden(string modelType, int p, int layers)
    {
        var model = Classifier(modelType, layers: layers);
        long head = model.named_parameters().Where(x => x.name.StartsWith("classifier.", StringComparison.Ordinal)).Sum(x => x.parameter.numel());
        var peft = PrefixTuningModel.Create(model, new PrefixTuningOptions { NumVirtualTokens = p });
        Assert.Equal((long)p * layers * 2 * 32 + head, peft.TrainableParameters().Trainable);
        Assert.Equal(new long[] { p, layers * 2 * 32 }, peft.PromptEmbeddings().shape);
    }

    [Fact]
    public void With_projection_it_trains_the_table_and_the_MLP()
    {
        var encoder = new BertModel(TinyBert.Config());
        var peft = PrefixTuningModel.Create(encoder, new PrefixTuningOptions { NumVirtualTokens = 3, PrefixProjection = true, EncoderHiddenSize = 16 });
        Assert.Equal(3 * 32 + (32 * 16 + 16) + (16 * 2 * 2 * 32 + 2 * 2 * 32), peft.TrainableParameters().Trainable);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void Real_positions_keep_their_shape_and_masked_padding_changes_nothing(string modelType)
    {
        using var scope = NewDisposeScope();
        var model = (ISequenceClassifier)Classifier(modelType);
        PrefixTuningModel.Create((nn.Module)model, new PrefixTuningOptions { NumVirtualTokens = 4 });
        long pad = modelType == "roberta" ? 1 : 0;
        var ids = tensor(new long[] { 2, 7, 9, 3 }, new long[] { 1, 4 });
        var padded = tensor(new long[] { 2, 7, 9, 3, pad, pad }, new long[] { 1, 6 });
        var mask = tensor(new long[] { 1, 1, 1, 1, 0, 0 }, new long[] { 1, 6 });
        using var noGrad = no_grad();
        var output = model.Encoder.forward(ids);
        Assert.Equal(new long[] { 1, 4, 32 }, output.LastHiddenState.shape);
        Assert.Equal(0, output.VirtualTokens);
        Assert.True((model.Logits(ids) - model.Logits(padded, mask)).abs().max().item<float>() < 1e-5,
                    "the key mask must be opened for the prefix and keep masking padding");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Each_layers_slice_of_the_prefix_acts_on_the_output(int layer)
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseLogits = Logits(model);
        var peft = PrefixTuningModel.Create(model, new PrefixTuningOptions { NumVirtualTokens = 2 });
        var before = Logits(model);
        Assert.False(BitEqual(baseLogits, before));  // attended prefixes change the output from the start
        var table = ((Microsoft.ML.Peft.Methods.PromptLearning.PromptEmbedding)peft.Prompt).Weight;  // (P, layers * 2 * hidden)
        using (no_grad()) table.narrow(1, layer * 2 * 32, 2 * 32).add_(1.0);  // this layer's keys and values only
        Assert.False(BitEqual(before, Logits(model)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Prefix_length_not_positive_is_a_clear_error(int p)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PrefixTuningOptions { NumVirtualTokens = p }.Apply(Classifier()));
        Assert.Contains("num_virtual_tokens", e.Message);
    }

    [Fact]
    public void File_keys_and_config_equal_a_hand_written_PEFT_fixture()
    {
        using var folder = new TempFolder();
        var peft = PrefixTuningModel.Create(Classifier("roberta"), new PrefixTuningOptions { NumVirtualTokens = 3, PrefixProjection = true, EncoderHiddenSize = 8 });
        peft.SaveAdapter(folder.Path);
        FormatAssert.Weights(folder.Path, new Dictionary<string, long[]>
        {
            ["prompt_embeddings"] = new long[] { 3, 2 * 2 * 32 },  // [P, num_layers * 2 * token_dim], projected
            ["base_model.classifier.dense.weight"] = new long[] { 32, 32 },
            ["base_model.classifier.dense.bias"] = new long[] { 32 },
            ["base_model.classifier.out_proj.weight"] = new long[] { 3, 32 },
            ["base_model.classifier.out_proj.bias"] = new long[] { 3 },
        });
        FormatAssert.Config(folder.Path, """
        {
          "peft_type": "PREFIX_TUNING", "task_type": "SEQ_CLS", "base_model_name_or_path": null, "revision": null,
          "inference_mode": false, "num_virtual_tokens": 3, "token_dim": 32, "num_transformer_submodules": 1,
          "num_attention_heads": 4, "num_layers": 2, "modules_to_save": ["classifier"],
          "prefix_projection": true, "encoder_hidden_size": 8
        }
        """);
    }

    [Fact]
    public void A_prefix_for_another_depth_is_refused_naming_the_field()
    {
        using var folder = new TempFolder();
        new PrefixTuningOptions { NumVirtualTokens = 2 }.Apply(Classifier()).SaveAdapter(folder.Path);
        var e = Assert.Throws<InvalidDataException>(() => PeftMethods.Load(Classifier(layers: 3), folder.Path));
        Assert.Contains("num_layers", e.Message);
    }
}
