using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Methods.Common;
using Microsoft.ML.Peft.Tests.Models;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.PromptTuning;

public class PromptTuningTests
{
    [Theory]
    [InlineData("bert", 4)]
    [InlineData("roberta", 7)]
    public void Trains_n_times_hidden_parameters_plus_the_head(string modelType, int n)
    {
        var model = Classifier(modelType);
        long head = model.named_parameters().Where(p => p.name.StartsWith("classifier.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        var peft = PromptTuningModel.Create(model, new PromptTuningOptions { NumVirtualTokens = n });
        Assert.Equal(n * 32 + head, peft.TrainableParameters().Trainable);
        Assert.Equal(new long[] { n, 32 }, peft.PromptEmbeddings().shape);
    }

    [Fact]
    public void The_encoder_output_has_the_virtual_tokens_in_front_and_token_states_drop_them()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var encoder = new BertModel(TinyBert.Config());
        encoder.eval();
        PromptTuningModel.Create(encoder, new PromptTuningOptions { NumVirtualTokens = 4 });
        using var noGrad = no_grad();
        var output = encoder.forward(Ids(), ones(2, 5, dtype: ScalarType.Int64));
        Assert.Equal(4, output.VirtualTokens);
        Assert.Equal(new long[] { 2, 9, 32 }, output.LastHiddenState.shape);
        Assert.Equal(new long[] { 2, 5, 32 }, output.TokenStates().shape);
        Assert.True(BitEqual(output.LastHiddenState.narrow(1, 4, 5), output.TokenStates()));
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void Padding_masked_by_the_attention_mask_does_not_change_the_prompted_logits(string modelType)
    {
        using var scope = NewDisposeScope();
        var model = (ISequenceClassifier)Classifier(modelType);
        PromptTuningModel.Create((nn.Module)model, new PromptTuningOptions { NumVirtualTokens = 3 });
        long pad = modelType == "roberta" ? 1 : 0;
        var ids = tensor(new long[] { 2, 7, 9, 3 }, new long[] { 1, 4 });
        var padded = tensor(new long[] { 2, 7, 9, 3, pad, pad }, new long[] { 1, 6 });
        var mask = tensor(new long[] { 1, 1, 1, 1, 0, 0 }, new long[] { 1, 6 });
        using var noGrad = no_grad();
        var plain = model.Logits(ids);
        var masked = model.Logits(padded, mask);
        Assert.True((plain - masked).abs().max().item<float>() < 1e-5, "the mask must be extended for the virtual tokens");
    }

    [Fact]
    public void Text_init_repeats_the_texts_tokens_and_vocab_init_copies_vocabulary_rows()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var words = ((ISequenceClassifier)model).Encoder.Embeddings.WordEmbeddings.weight!;
        var text = PromptTuningModel.Create(model, new PromptTuningOptions
        {
            NumVirtualTokens = 5, Init = PromptTuningInit.Text, InitText = "x", Tokenize = _ => new[] { 10, 20 },
        });
        var expected = words.index_select(0, tensor(new long[] { 10, 20, 10, 20, 10 }));
        Assert.True(BitEqual(expected, text.PromptEmbeddings().detach()));
        text.Unload();

        var vocab = PromptTuningModel.Create(model, new PromptTuningOptions { NumVirtualTokens = 6, Init = PromptTuningInit.SampleVocab });
        var table = vocab.PromptEmbeddings().detach();
        for (int i = 0; i < 6; i++)
            Assert.True(words.detach().eq(table[i].unsqueeze(0)).all(1).any().item<bool>(), $"row {i} is not a vocabulary row");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Virtual_tokens_not_positive_is_a_clear_error(int n)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PromptTuningOptions { NumVirtualTokens = n }.Apply(Classifier()));
        Assert.Contains("num_virtual_tokens", e.Message);
        Assert.Throws<ArgumentException>(() => new PromptTuningOptions { Init = PromptTuningInit.Text }.Apply(Classifier()));
    }

    [Fact]
    public void File_keys_and_config_equal_a_hand_written_PEFT_fixture()
    {
        using var folder = new TempFolder();
        var peft = PromptTuningModel.Create(Classifier(), new PromptTuningOptions
        {
            NumVirtualTokens = 4, Init = PromptTuningInit.Text, InitText = "w1 w2", Tokenize = _ => new[] { 5, 6 },
            TokenizerNameOrPath = "tiny-bert", BaseModelNameOrPath = "tiny-bert",
        });
        peft.SaveAdapter(folder.Path);
        // PEFT: one prompt_embeddings tensor [n * num_transformer_submodules, token_dim]; the head under base_model.
        FormatAssert.Weights(folder.Path, new Dictionary<string, long[]>
        {
            ["prompt_embeddings"] = new long[] { 4, 32 },
            ["base_model.classifier.weight"] = new long[] { 3, 32 },
            ["base_model.classifier.bias"] = new long[] { 3 },
        });
        FormatAssert.Config(folder.Path, """
        {
          "peft_type": "PROMPT_TUNING", "task_type": "SEQ_CLS", "base_model_name_or_path": "tiny-bert", "revision": null,
          "inference_mode": false, "num_virtual_tokens": 4, "token_dim": 32, "num_transformer_submodules": 1,
          "num_attention_heads": 4, "num_layers": 2, "modules_to_save": ["classifier"],
          "prompt_tuning_init": "TEXT", "prompt_tuning_init_text": "w1 w2", "tokenizer_name_or_path": "tiny-bert",
          "tokenizer_kwargs": null
        }
        """);
    }

    [Fact]
    public void A_prompt_for_another_architecture_is_refused_naming_the_field()
    {
        using var folder = new TempFolder();
        PromptTuningModel.Create(Classifier(), new PromptTuningOptions { NumVirtualTokens = 2 }).SaveAdapter(folder.Path);
        var e = Assert.Throws<InvalidDataException>(() => PeftMethods.Load(Classifier(layers: 1), folder.Path));
        Assert.Contains("num_layers", e.Message);
        var config = TinyBert.Config();
        config.HiddenSize = 48;
        e = Assert.Throws<InvalidDataException>(() => PeftMethods.Load(new BertForSequenceClassification(config, 3), folder.Path));
        Assert.Contains("token_dim", e.Message);
    }
}
