using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Models;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Common;

/// <summary>The invariants every method keeps, over methods x option sets x {BERT, RoBERTa}.</summary>
public class MethodMatrixTests
{
    public static IEnumerable<object[]> Cases => MethodCases.WithModels();

    /// <summary>Adds noise to the method's own parameters (not the head), so the method changes the output.</summary>
    static void Perturb(IPeftModel peft, MethodCase c, bool head = false)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in peft.Model.named_parameters())
            if (p.requires_grad && (c.IsMethodParameter(name) && !MethodCases.IsHead(name) || head && MethodCases.IsHead(name)))
                p.add_(randn_like(p).mul_(0.2));
    }

    static float Step(nn.Module model, optim.Optimizer optimizer, Tensor ids, Tensor labels)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(((ISequenceClassifier)model).Logits(ids), labels);
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Output_at_init_equals_the_base_where_the_method_starts_at_identity(string modelType, string method)
    {
        var c = MethodCases.All[method];
        if (!c.StartsAtIdentity) return;
        using var scope = NewDisposeScope();
        var model = Classifier(modelType);
        var before = Logits(model);
        c.Make().Apply(model);
        Assert.True(BitEqual(before, Logits(model)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Three_AdamW_steps_change_only_the_methods_parameters_and_the_head(string modelType, string method)
    {
        using var scope = NewDisposeScope();
        var c = MethodCases.All[method];
        var model = Classifier(modelType);
        var peft = c.Make().Apply(model);
        var before = Snapshot(model);
        foreach (var (name, p) in model.named_parameters())
            Assert.True((c.IsMethodParameter(name) || MethodCases.IsHead(name)) == p.requires_grad, $"{name}: requires_grad {p.requires_grad}");
        model.train();
        var optimizer = optim.AdamW(peft.TrainableParameterList(), lr: 1e-2);
        for (int i = 0; i < 3; i++) Step(model, optimizer, Ids(), tensor(new long[] { 0, 2 }));
        model.eval();
        int changed = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) Assert.True(BitEqual(before[name], p), $"frozen {name} changed");
            else if (!BitEqual(before[name], p)) changed++;
        }
        Assert.True(changed >= peft.TrainableParameterList().Count / 2, $"only {changed} trainable tensors changed");
        Assert.False(BitEqual(before["classifier." + (modelType == "roberta" ? "out_proj.weight" : "weight")],
                              model.named_parameters().First(p => p.name == "classifier." + (modelType == "roberta" ? "out_proj.weight" : "weight")).parameter));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Disable_scope_gives_the_base_output_and_the_method_returns_after_it(string modelType, string method)
    {
        using var scope = NewDisposeScope();
        var c = MethodCases.All[method];
        var model = Classifier(modelType);
        var baseLogits = Logits(model);
        var peft = c.Make().Apply(model);
        Perturb(peft, c);
        var adapted = Logits(model);
        Assert.False(BitEqual(baseLogits, adapted), "the perturbed method must change the output");
        using (peft.DisableAdapters()) Assert.True(BitEqual(baseLogits, Logits(model)));
        Assert.True(BitEqual(adapted, Logits(model)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Save_then_load_into_a_fresh_base_gives_bit_identical_outputs(string modelType, string method)
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        var c = MethodCases.All[method];
        var model = Classifier(modelType);
        var fresh = Twin(model, modelType);
        var peft = c.Make().Apply(model);
        Perturb(peft, c, head: true);
        var expected = Logits(model);
        peft.SaveAdapter(folder.Path);
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors" }, folder.FileNames());

        var loaded = PeftMethods.Load(fresh, folder.Path);
        Assert.Equal(peft.PeftType, loaded.PeftType);
        Assert.True(BitEqual(expected, Logits(fresh)));
        Assert.Equal(0, loaded.TrainableParameters().Trainable);  // loaded for inference, as PEFT's from_pretrained
        Assert.True(PeftMethods.Load(Twin(model, modelType), folder.Path, isTrainable: true).TrainableParameters().Trainable > 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Loss_falls_on_a_small_learnable_task(string modelType, string method)
    {
        using var scope = NewDisposeScope();
        var c = MethodCases.All[method];
        // Weights 10x wider than BERT's init: in a random model with std 0.02 the pooled state of virtual token 0
        // (where PEFT's prompt methods read the class) hardly depends on the input, unlike in a pretrained model.
        var config = TinyBert.Config(modelType, layers: 1);
        config.InitializerRange = 0.2;
        nn.Module model = modelType == "roberta" ? new RobertaForSequenceClassification(config, 3) : new BertForSequenceClassification(config, 3);
        var peft = c.Make().Apply(model);
        model.eval();  // no dropout: a deterministic descent
        var optimizer = optim.AdamW(peft.TrainableParameterList(), lr: 2e-2);
        var ids = Ids();
        var labels = tensor(new long[] { 0, 2 });
        float first = Step(model, optimizer, ids, labels), last = first;
        for (int i = 0; i < 60; i++) last = Step(model, optimizer, ids, labels);
        Assert.True(last < first * 0.5, $"loss {first} -> {last}");
    }
}
