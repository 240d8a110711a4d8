using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Tests.Decoders;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>Training a decoder with dropout active leaves no tensor behind step after step (dispose discipline).</summary>
[Collection(Microsoft.ML.Peft.Tests.Training.TrainingCollection.Name)]
public sealed class DecoderTrainingMemoryTests
{
    static long Live() => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    [Theory]
    [InlineData("lora-gpt2")]
    [InlineData("lora-llama")]
    [InlineData("prefix-gpt2")]
    public void Live_tensor_count_is_flat_over_training_steps(string name)
    {
        using var scope = NewDisposeScope();
        var llama = TinyDecoders.Llama();
        llama.AttentionDropout = 0.1;
        nn.Module module = name.EndsWith("llama", StringComparison.Ordinal) ? TinyDecoders.LlamaModel(llama) : TinyDecoders.Gpt2Model();  // GPT-2: resid, embd and attn dropout 0.1
        var model = (ICausalLM)module;
        if (name.StartsWith("lora", StringComparison.Ordinal)) new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1 }.Apply(module);
        else new PrefixTuningOptions { NumVirtualTokens = 3 }.Apply(module);
        module.train();
        var ids = arange(2, 18, dtype: ScalarType.Int64).reshape(1, 16).repeat(4, 1);
        long Run(int steps)
        {
            var options = new TrainingOptions { LearningRate = 1e-3, Epochs = 1, WarmupSteps = 0, Seed = 1, LogEverySteps = 0 };
            new Trainer<Tensor>(options, module.named_parameters(), b => CausalLmLoss.Mean(model, b, null, b))
                .Fit(_ => Enumerable.Range(0, steps).Select(_ => ids.alias()), steps);
            return Live();
        }
        long afterShortRun = Run(5);
        long afterLongRun = Run(60);
        Assert.Equal(afterShortRun, afterLongRun);
    }

    [Fact]
    public void Training_with_dropout_is_bit_identical_for_the_same_seed()
    {
        float[] Train()
        {
            using var scope = NewDisposeScope();
            var gpt2 = TinyDecoders.Gpt2Model();  // resid, embd and attn dropout 0.1
            new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1 }.Apply(gpt2);
            gpt2.train();
            var ids = arange(2, 18, dtype: ScalarType.Int64).reshape(1, 16).repeat(4, 1);
            var options = new TrainingOptions { LearningRate = 1e-2, Epochs = 1, WarmupSteps = 0, Seed = 5, LogEverySteps = 0 };
            new Trainer<Tensor>(options, gpt2.named_parameters(), b => CausalLmLoss.Mean(gpt2, b, null, b))
                .Fit(_ => Enumerable.Range(0, 10).Select(_ => ids.alias()), 10);
            return gpt2.named_parameters().Where(p => p.name.Contains("lora_", StringComparison.Ordinal))
                       .SelectMany(p => p.parameter.detach().flatten().data<float>().ToArray()).ToArray();
        }
        float[] first = Train(), second = Train();
        Assert.NotEmpty(first);
        Assert.Equal(first, second);
    }
}
