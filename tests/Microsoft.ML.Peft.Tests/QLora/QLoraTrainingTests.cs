using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Models.Bert;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static Microsoft.ML.Peft.Tests.QLora.QLoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.QLora;

public class QLoraTrainingTests
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

    [Fact]
    public void Training_changes_only_the_adapters_and_the_head_and_leaves_the_packed_weights_bit_identical()
    {
        using var model = Classifier();
        var qlora = QLoraModel.Create(model, Options());
        var parameters = Snapshot(model);
        var buffers = Buffers(model);
        model.train();
        var optimizer = optim.AdamW(qlora.TrainableParameterList(), lr: 1e-2);
        for (int i = 0; i < 3; i++) Step(model, optimizer);

        static bool IsTrained(string name) => name.Contains(".lora_", StringComparison.Ordinal) || name.StartsWith("classifier.", StringComparison.Ordinal);
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.Equal(IsTrained(name), p.requires_grad);
            if (IsTrained(name)) Assert.False(BitEqual(parameters[name], p), $"{name} should have changed");
            else Assert.True(BitEqual(parameters[name], p), $"frozen {name} changed");
        }
        Assert.NotEmpty(buffers);
        foreach (var (name, b) in model.named_buffers()) Assert.True(BitEqual(buffers[name], b), $"buffer {name} changed");
    }

    [Fact]
    public void Loss_falls_on_a_small_learnable_task()
    {
        using var model = Classifier(layers: 1);
        var qlora = QLoraModel.Create(model, Options());
        model.train();
        var optimizer = optim.AdamW(qlora.TrainableParameterList(), lr: 5e-2);
        float first = Step(model, optimizer), last = first;
        for (int i = 0; i < 30; i++) last = Step(model, optimizer);
        Assert.True(last < first * 0.5, $"loss {first} -> {last}");
    }

    [Fact]
    public void Bf16_compute_trains_too()
    {
        using var model = Classifier(layers: 1);
        var qlora = QLoraModel.Create(model, Options(quantization: Fp32 with { ComputeDType = ScalarType.BFloat16 }));
        model.train();
        var optimizer = optim.AdamW(qlora.TrainableParameterList(), lr: 5e-2);
        float first = Step(model, optimizer), last = first;
        for (int i = 0; i < 30; i++) last = Step(model, optimizer);
        Assert.True(last < first * 0.5, $"loss {first} -> {last}");
    }
}
