using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Tests.DecoderMethods;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>Every method we support on decoders trains a tiny GPT-2 and a tiny LLaMA (GQA) and lowers the causal-LM loss.</summary>
public sealed class DecoderMethodTrainingTests
{
    public static TheoryData<string, string> Methods => DecoderCases.Matrix(DecoderCases.AllMethods);

    // Prompt methods move only a handful of input or key/value vectors, so they take a larger step (as PEFT's examples do).
    static double LearningRate(string method) => method switch
    {
        "full" => 3e-3,
        "prompt" or "ptuning" or "ptuning-lstm" or "prefix" or "prefix-projection" => 1e-1,
        _ => 1e-2,
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Method_lowers_the_causal_lm_loss(string method, string family)
    {
        using var scope = NewDisposeScope();
        var module = DecoderCases.ModelFor(method, family);
        var model = (ICausalLM)module;
        torch.manual_seed(7);
        IPeftModel peft = DecoderCases.Method(method).Apply(module);
        Assert.True(peft.TrainableParameters().Trainable > 0);

        // One repeated 16-token sequence: memorising it is easy, so the loss must fall.
        var ids = torch.arange(2, 18, dtype: ScalarType.Int64).reshape(1, 16).repeat(4, 1);
        double Loss() { using (no_grad()) return CausalLmLoss.Mean(model, ids, null, ids).item<float>(); }
        module.eval();
        double before = Loss();
        var options = new TrainingOptions { LearningRate = LearningRate(method), Epochs = 1, WarmupSteps = 0, Seed = 1, LogEverySteps = 0, WeightDecay = 0 };
        var trainer = new Trainer<Tensor>(options, module.named_parameters(), b => CausalLmLoss.Mean(model, b, null, b)) { Model = module };
        trainer.Fit(_ => Enumerable.Range(0, 25).Select(_ => ids.alias()), 25);
        module.eval();
        double after = Loss();
        Assert.True(after < before * 0.9, $"{method}/{family}: loss {before:F4} -> {after:F4}");
    }
}
