using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Tests.Decoders;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>Every method we support on decoders trains a tiny GPT-2 (and LLaMA where it differs) and lowers its loss.</summary>
public sealed class DecoderMethodTrainingTests
{
    public static TheoryData<string> Methods => new() { "lora-c_attn", "lora-all-linear", "bitfit", "full", "ia3-llama", "lora-llama", "qlora-llama" };

    static IPeftMethodOptions Method(string name) => name switch
    {
        "lora-c_attn" => new LoraOptions { Rank = 4, Alpha = 8, TargetModules = TargetModules.Of("c_attn") },
        "lora-all-linear" => new LoraOptions { Rank = 4, Alpha = 8, TargetModules = TargetModules.Regex(TargetModules.AllLinear) },
        "bitfit" => new BitFitOptions(),
        "full" => new FullFineTuningOptions(),
        "ia3-llama" => new IA3Options(),
        "lora-llama" => new LoraOptions { Rank = 4, Alpha = 8 },
        "qlora-llama" => new QLoraOptions { Lora = new LoraOptions { Rank = 4, Alpha = 8 } },  // NF4 base, block 64, bf16 compute
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Method_lowers_the_causal_lm_loss(string name)
    {
        using var scope = NewDisposeScope();
        nn.Module module = name.EndsWith("llama", StringComparison.Ordinal) ? TinyDecoders.LlamaModel(TinyDecoders.Llama()) : TinyDecoders.Gpt2Model();
        var model = (ICausalLM)module;
        var peft = Method(name).Apply(module);
        Assert.True(peft.TrainableParameters().Trainable > 0);

        // One repeated 16-token sequence: memorising it is easy, so the loss must fall.
        var ids = torch.arange(2, 18, dtype: ScalarType.Int64).reshape(1, 16).repeat(4, 1);
        double Loss() { using (no_grad()) return CausalLmLoss.Mean(model, ids, null, ids).item<float>(); }
        module.eval();
        double before = Loss();
        var options = new TrainingOptions { LearningRate = name == "full" ? 3e-3 : 1e-2, Epochs = 1, WarmupSteps = 0, Seed = 1, LogEverySteps = 0, WeightDecay = 0 };
        var trainer = new Trainer<Tensor>(options, module.named_parameters(), b => CausalLmLoss.Mean(model, b, null, b)) { Model = module };
        trainer.Fit(_ => Enumerable.Range(0, 25).Select(_ => ids.alias()), 25);
        module.eval();
        double after = Loss();
        Assert.True(after < before * 0.9, $"{name}: loss {before:F4} -> {after:F4}");
    }

    [Fact]
    public void Ia3_on_gpt2_fails_with_a_message_naming_the_method_and_model()
    {
        using var tiny = new TinyGenerationModel();
        var data = new MLContext().Data.LoadFromEnumerable(new[] { new TextRow { Text = "hello world" } });
        var estimator = new MLContext().Peft().TextGenerator(tiny.Open(), new IA3Options());
        var e = Assert.Throws<ArgumentException>(() => estimator.Fit(data));
        Assert.Contains("IA3", e.Message);
        Assert.Contains("gpt2", e.Message);
    }

    internal sealed class TextRow
    {
        public string Text { get; set; } = "";
    }
}
