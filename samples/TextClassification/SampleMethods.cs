using Microsoft.ML.Peft;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Methods.PTuning;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Tasks.TextClassification;
using Microsoft.ML.Peft.Training;

/// <summary>The method named on the command line, with a learning rate that suits it.</summary>
static class SampleMethods
{
    public static TextClassifierOptions Options(SampleArguments arguments, PretrainedModel model)
    {
        (IPeftMethodOptions method, double learningRate) = arguments.Method switch
        {
            "lora" => ((IPeftMethodOptions)new LoraOptions { Rank = 8, Alpha = 16, Dropout = 0.1 }, 3e-3),
            // LoRA over a 4-bit NF4 base (block 64, double quantization): MiniLM's layer sizes are multiples of 64.
            "qlora" => (new QLoraOptions { Lora = new LoraOptions { Rank = 8, Alpha = 16, Dropout = 0.1 } }, 3e-3),
            "prompt" => (new PromptTuningOptions { NumVirtualTokens = 20 }, 2e-2),
            "ptuning" => (new PTuningOptions { NumVirtualTokens = 20 }, 1e-2),
            "prefix" => (new PrefixTuningOptions { NumVirtualTokens = 20 }, 1e-2),
            "adapter" => (new BottleneckAdapterOptions { ReductionFactor = 16 }, 1e-3),
            "ia3" => (new IA3Options(), 5e-3),
            "bitfit" => (new BitFitOptions(), 1e-3),
            "full" => (new FullFineTuningOptions(), 5e-5),
            _ => throw new ArgumentException($"Unknown method '{arguments.Method}'.\n{SampleArguments.Usage}"),
        };
        return new TextClassifierOptions
        {
            Method = method,
            MaxLength = Math.Min(arguments.MaxLength, TextClassifierOptions.UsableLength(model)),
            UseBFloat16 = arguments.BFloat16,
            Training = new TrainingOptions
            {
                Epochs = arguments.Epochs,
                BatchSize = 16,
                LearningRate = arguments.LearningRate ?? learningRate,
                Precision = arguments.BFloat16 ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32,
                LogEverySteps = 0,
            },
        };
    }
}
