using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Methods.Common;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;

namespace Microsoft.ML.Peft.Tests.Methods.BitFit;

public class BitFitTests
{
    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void Only_biases_and_the_head_train(string modelType)
    {
        var model = Classifier(modelType);
        long expected = model.named_parameters()
            .Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal) || p.name.StartsWith("classifier.", StringComparison.Ordinal))
            .Sum(p => p.parameter.numel());
        var peft = new BitFitOptions().Apply(model);
        Assert.Equal(expected, peft.TrainableParameters().Trainable);
        Assert.All(peft.TrainableParameterList(), p => Assert.True(p.dim() == 1 || p.shape[0] == 3 || p.shape[0] == 32));
    }

    [Fact]
    public void File_holds_the_biases_and_the_head_under_their_own_keys_in_our_format()
    {
        using var folder = new TempFolder();
        var model = Classifier(layers: 1);
        new BitFitOptions().Apply(model).SaveAdapter(folder.Path);
        var shapes = model.named_parameters()
            .Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal) || p.name == "classifier.weight")
            .ToDictionary(p => "base_model.model." + p.name, p => p.parameter.shape);
        Assert.Contains("base_model.model.bert.encoder.layer.0.attention.self.query.bias", shapes.Keys);
        Assert.Contains("base_model.model.bert.embeddings.LayerNorm.bias", shapes.Keys);
        FormatAssert.Weights(folder.Path, shapes);
        FormatAssert.Config(folder.Path, """
        {
          "peft_type": "BITFIT", "note": "Microsoft.ML.Peft format (the model's own trained tensors by key); not a Python PEFT format.",
          "task_type": "SEQ_CLS", "modules_to_save": ["classifier"]
        }
        """);
    }

    [Fact]
    public void A_file_for_another_model_is_refused_naming_the_key()
    {
        using var folder = new TempFolder();
        new BitFitOptions().Apply(Classifier(layers: 2)).SaveAdapter(folder.Path);
        var e = Assert.Throws<InvalidDataException>(() => PeftMethods.Load(Classifier(layers: 1), folder.Path));
        Assert.Contains("bert.encoder.layer.1.", e.Message);
    }
}
