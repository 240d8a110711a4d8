using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Methods.Common;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Adapters;

public class BottleneckAdapterTests
{
    [Fact]
    public void Houlsby_on_a_MiniLM_sized_encoder_trains_layers_x_2_x_bottleneck_parameters()
    {
        // all-MiniLM-L6-v2's shape: 6 layers, hidden 384, 12 heads; reduction 16 gives a bottleneck of 24.
        var config = new BertConfig { HiddenSize = 384, NumHiddenLayers = 6, NumAttentionHeads = 12, IntermediateSize = 1536, VocabSize = 1000 };
        using var encoder = new BertModel(config);
        var peft = BottleneckAdapterModel.Create(encoder, new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Houlsby, ReductionFactor = 16 });
        const long hidden = 384, m = 24;
        Assert.Equal(6 * 2 * (2 * hidden * m + m + hidden), peft.TrainableParameters().Trainable);  // 226,080
        Assert.Equal(12, peft.AdaptedModules.Count);
    }

    [Theory]
    [InlineData(BottleneckAdapterKind.Pfeiffer, new[] { "output" })]
    [InlineData(BottleneckAdapterKind.Parallel, new[] { "output" })]
    [InlineData(BottleneckAdapterKind.Houlsby, new[] { "attention.output", "output" })]
    public void Adapters_sit_on_the_sub_layer_outputs_the_paper_names(BottleneckAdapterKind kind, string[] places)
    {
        var peft = BottleneckAdapterModel.Create(Classifier(), new BottleneckAdapterOptions { Kind = kind, ReductionFactor = 4 });
        var expected = new[] { 0, 1 }.SelectMany(i => places.Select(p => $"bert.encoder.layer.{i}.{p}")).Order();
        Assert.Equal(expected, peft.AdaptedModules.Order());
        Assert.Contains(peft.Model.named_parameters(), p => p.name == "bert.encoder.layer.0.output.adapter.adapter_down.weight" && p.parameter.shape.SequenceEqual(new long[] { 8, 32 }));
    }

    [Fact]
    public void Sequential_adapter_adds_up_of_act_of_down_of_the_dense_output()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var peft = BottleneckAdapterModel.Create(model, new BottleneckAdapterOptions { ReductionFactor = 4 });
        var dense = (TorchSharp.Modules.Linear)model.named_modules().First(m => m.name == "bert.encoder.layer.0.output.dense").module;
        var adapter = (BottleneckAdapter)model.named_modules().First(m => m.name == "bert.encoder.layer.0.output.adapter").module;
        using (no_grad()) foreach (var p in adapter.parameters()) p.normal_(0, 0.3);
        var x = randn(2, 3, 37);
        using var noGrad = no_grad();
        var h = dense.forward(x);  // forward skips hooks: the base projection
        Assert.True(BitEqual(h + adapter.forward(h), dense.call(x)));
        using (peft.DisableAdapters()) Assert.True(BitEqual(h, dense.call(x)));
    }

    [Fact]
    public void Unload_removes_every_adapter_and_gives_the_base_back()
    {
        using var scope = NewDisposeScope();
        var model = Classifier();
        var baseKeys = model.state_dict().Keys.Order().ToList();
        var baseLogits = Logits(model);
        var peft = BottleneckAdapterModel.Create(model, new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Houlsby, ReductionFactor = 4 });
        using (no_grad()) foreach (var p in peft.TrainableParameterList()) p.add_(0.1);
        Assert.Same(model, peft.Unload());
        Assert.Equal(baseKeys, model.state_dict().Keys.Order().ToList());
        Assert.DoesNotContain(model.named_modules(), m => m.name.Contains("adapter", StringComparison.Ordinal));
        Assert.False(BitEqual(baseLogits, Logits(model)));  // the head was trained in place and stays
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    public void Bad_reduction_factor_is_a_clear_error(int factor)
    {
        var e = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => new BottleneckAdapterOptions { ReductionFactor = factor }.Apply(Classifier()));
        Assert.Contains("reduction_factor", e.Message);
        Assert.Throws<ArgumentException>(() => new BottleneckAdapterOptions { Activation = "nope" }.Apply(Classifier()));
    }

    [Fact]
    public void File_uses_our_own_clearly_named_format()
    {
        using var folder = new TempFolder();
        BottleneckAdapterModel.Create(Classifier(), new BottleneckAdapterOptions { ReductionFactor = 4, ModulesToSave = Array.Empty<string>() }).SaveAdapter(folder.Path);
        var shapes = new Dictionary<string, long[]>();
        foreach (int i in new[] { 0, 1 })
        {
            string p = $"base_model.model.bert.encoder.layer.{i}.output.adapter.";
            shapes[p + "adapter_down.weight"] = new long[] { 8, 32 };
            shapes[p + "adapter_down.bias"] = new long[] { 8 };
            shapes[p + "adapter_up.weight"] = new long[] { 32, 8 };
            shapes[p + "adapter_up.bias"] = new long[] { 32 };
        }
        FormatAssert.Weights(folder.Path, shapes);
        FormatAssert.Config(folder.Path, """
        {
          "peft_type": "BOTTLENECK_ADAPTER", "note": "Microsoft.ML.Peft bottleneck adapters; not a Python PEFT format.",
          "task_type": "SEQ_CLS", "adapter_kind": "pfeiffer", "reduction_factor": 4, "non_linearity": "relu",
          "scaling": 1.0, "hidden_size": 32, "num_adapters": 2, "modules_to_save": null
        }
        """);
    }

    [Fact]
    public void An_adapter_file_that_does_not_fit_the_base_is_refused_naming_the_key()
    {
        using var folder = new TempFolder();
        BottleneckAdapterModel.Create(Classifier(), new BottleneckAdapterOptions { ReductionFactor = 4 }).SaveAdapter(folder.Path);
        var model = Classifier(layers: 1);
        var e = Assert.Throws<InvalidDataException>(() => PeftMethods.Load(model, folder.Path));
        Assert.Contains("bert.encoder.layer.1.output.adapter.", e.Message);
        Assert.DoesNotContain(model.named_modules(), m => m.name.EndsWith(".adapter", StringComparison.Ordinal));  // rolled back
    }
}
