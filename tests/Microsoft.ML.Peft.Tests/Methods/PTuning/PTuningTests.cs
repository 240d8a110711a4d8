using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.PTuning;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Methods.Common;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.PTuning;

public class PTuningTests
{
    [Theory]
    [InlineData("bert", 3, 16)]
    [InlineData("roberta", 5, 8)]
    public void MLP_encoder_trains_its_table_and_three_linear_layers(string modelType, int n, int h)
    {
        var model = Classifier(modelType);
        long head = model.named_parameters().Where(p => p.name.StartsWith("classifier.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        var peft = PTuningModel.Create(model, new PTuningOptions { NumVirtualTokens = n, EncoderHiddenSize = h });
        long hidden = 32;
        long encoder = n * hidden + (hidden * h + h) + (h * h + h) + (h * hidden + hidden);
        Assert.Equal(encoder + head, peft.TrainableParameters().Trainable);
        Assert.Equal(new long[] { n, hidden }, peft.PromptEmbeddings().shape);
    }

    [Fact]
    public void LSTM_encoder_is_bidirectional_and_yields_one_row_per_virtual_token()
    {
        var peft = PTuningModel.Create(Classifier(), new PTuningOptions { NumVirtualTokens = 4, EncoderType = PromptEncoderType.Lstm, EncoderHiddenSize = 8 });
        var names = peft.Prompt.named_parameters().Select(p => p.name).ToList();
        Assert.Contains(names, n => n.StartsWith("lstm_head.", StringComparison.Ordinal) && n.EndsWith("_reverse", StringComparison.Ordinal));
        Assert.Equal(new long[] { 16, 16 }, peft.Prompt.named_parameters().First(p => p.name == "mlp_head.0.weight").parameter.shape);
        Assert.Equal(new long[] { 4, 32 }, peft.PromptEmbeddings().shape);
    }

    [Fact]
    public void The_file_holds_the_encoders_output_and_the_config_PEFTs_fields()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var peft = PTuningModel.Create(Classifier(), new PTuningOptions { NumVirtualTokens = 3, EncoderHiddenSize = 16, BaseModelNameOrPath = "tiny-bert" });
        Tensor output;
        using (no_grad()) output = peft.PromptEmbeddings().clone();
        peft.SaveAdapter(folder.Path);
        FormatAssert.Weights(folder.Path, new Dictionary<string, long[]>
        {
            ["prompt_embeddings"] = new long[] { 3, 32 },
            ["base_model.classifier.weight"] = new long[] { 3, 32 },
            ["base_model.classifier.bias"] = new long[] { 3 },
        });
        using (var file = SafeTensorsFile.Open(folder.File("adapter_model.safetensors")))
            Assert.True(BitEqual(output, file.ReadTensor("prompt_embeddings")));
        FormatAssert.Config(folder.Path, """
        {
          "peft_type": "P_TUNING", "task_type": "SEQ_CLS", "base_model_name_or_path": "tiny-bert", "revision": null,
          "inference_mode": false, "num_virtual_tokens": 3, "token_dim": 32, "num_transformer_submodules": 1,
          "num_attention_heads": 4, "num_layers": 2, "modules_to_save": ["classifier"],
          "encoder_reparameterization_type": "MLP", "encoder_hidden_size": 16, "encoder_num_layers": 2, "encoder_dropout": 0.0
        }
        """);

        var loaded = (PTuningModel)PeftMethods.Load(Classifier(), folder.Path);
        Assert.Equal(PromptEncoderType.Mlp, loaded.Options.EncoderType);
        Assert.True(BitEqual(output, loaded.PromptEmbeddings().detach()));  // a plain table of the saved output
    }

    [Fact]
    public void Virtual_tokens_not_positive_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PTuningOptions { NumVirtualTokens = 0 }.Apply(Classifier()));
        Assert.Contains("num_virtual_tokens", e.Message);
    }
}
