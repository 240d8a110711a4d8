using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Tests.Checkpoints;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;

namespace Microsoft.ML.Peft.Tests.Methods.FullFineTuning;

public class FullFineTuningTests
{
    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void Everything_trains(string modelType)
    {
        var model = Classifier(modelType);
        foreach (var p in model.parameters()) p.requires_grad = false;  // even a frozen model trains whole
        var peft = new FullFineTuningOptions().Apply(model);
        var count = peft.TrainableParameters();
        Assert.Equal(count.Total, count.Trainable);
        Assert.Equal(model.parameters().Count(), peft.TrainableParameterList().Count);
    }

    [Fact]
    public void Disabling_without_a_kept_copy_of_the_base_is_a_clear_error()
    {
        var peft = new FullFineTuningOptions().Apply(Classifier());
        var e = Assert.Throws<InvalidOperationException>(() => peft.DisableAdapters());
        Assert.Contains("KeepBaseWeights", e.Message);
    }
}

public class PeftMethodsRegistryTests
{
    [Fact]
    public void Every_method_is_data_with_its_peft_type_and_the_registry_knows_them_all()
    {
        IPeftMethodOptions[] methods = { new LoraOptions(), new PromptTuningOptions(), new Microsoft.ML.Peft.Methods.PTuning.PTuningOptions(),
            new Microsoft.ML.Peft.Methods.PrefixTuning.PrefixTuningOptions(), new Microsoft.ML.Peft.Methods.IA3.IA3Options(),
            new Microsoft.ML.Peft.Methods.Adapters.BottleneckAdapterOptions(), new Microsoft.ML.Peft.Methods.BitFit.BitFitOptions(), new FullFineTuningOptions() };
        Assert.Equal(methods.Select(m => m.PeftType).Order(), PeftMethods.PeftTypes.Order());
        foreach (var method in methods) Assert.Equal(method.PeftType, method.Apply(Classifier()).PeftType);
    }

    [Fact]
    public void An_unknown_peft_type_is_refused_listing_the_known_ones()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("adapter_config.json"), """{"peft_type": "VERA"}""");
        var e = Assert.Throws<NotSupportedException>(() => PeftMethods.Load(Classifier(), folder.Path));
        Assert.Contains("VERA", e.Message);
        Assert.Contains("PREFIX_TUNING", e.Message);
        Assert.Throws<FileNotFoundException>(() => PeftMethods.Load(Classifier(), folder.File("nothing-here")));
    }
}
