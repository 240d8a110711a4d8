using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Models.Bert;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

public class LoraTrainingTests
{
    static float Step(nn.Module model, optim.Optimizer optimizer)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(((ISequenceClassifier)model).Logits(Ids()), tensor(new long[] { 0, 2 }));
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }

    [Theory]
    [InlineData("bert", LoraBias.None)]
    [InlineData("roberta", LoraBias.LoraOnly)]
    [InlineData("bert", LoraBias.All)]
    public void Three_AdamW_steps_change_only_adapter_parameters_and_the_head(string modelType, LoraBias bias)
    {
        var model = Classifier(modelType);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1, Bias = bias });
        var before = Snapshot(model);
        model.train();
        var optimizer = optim.AdamW(lora.TrainableParameterList(), lr: 1e-2);
        for (int i = 0; i < 3; i++) Step(model, optimizer);

        bool IsTrained(string name) =>
            name.Contains(".lora_", StringComparison.Ordinal) || name.StartsWith("classifier.", StringComparison.Ordinal)
            || (bias == LoraBias.All && name.EndsWith(".bias", StringComparison.Ordinal))
            || (bias == LoraBias.LoraOnly && (name.EndsWith("self.query.bias", StringComparison.Ordinal) || name.EndsWith("self.value.bias", StringComparison.Ordinal)));
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.Equal(IsTrained(name), p.requires_grad);
            if (IsTrained(name)) Assert.False(BitEqual(before[name], p), $"{name} should have changed");
            else Assert.True(BitEqual(before[name], p), $"frozen {name} changed");
        }
    }

    [Fact]
    public void Loss_falls_on_a_small_learnable_task()
    {
        var model = Classifier(layers: 1);
        var lora = LoraModel.Create(model, new LoraOptions { Rank = 4, Alpha = 8 });
        model.train();
        var optimizer = optim.AdamW(lora.TrainableParameterList(), lr: 5e-2);
        float first = Step(model, optimizer), last = first;
        for (int i = 0; i < 30; i++) last = Step(model, optimizer);
        Assert.True(last < first * 0.5, $"loss {first} -> {last}");
    }
}
