using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.Adapters;
using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Methods.PTuning;

namespace Microsoft.ML.Peft.Tests.Methods.Common;

/// <summary>One method with one option set, as data: how to make it and which parameters it owns.</summary>
/// <param name="Make">Fresh options.</param>
/// <param name="IsMethodParameter">Whether a model parameter (full name) belongs to the method (the head aside).</param>
/// <param name="StartsAtIdentity">Whether the adapted model equals the base before training.</param>
sealed record MethodCase(Func<IPeftMethodOptions> Make, Func<string, bool> IsMethodParameter, bool StartsAtIdentity);

/// <summary>The matrix of methods x option sets that every invariant test runs over (with BERT and RoBERTa).</summary>
static class MethodCases
{
    static bool Prompt(string n) => n.StartsWith("prompt_encoder.", StringComparison.Ordinal);
    static bool Adapter(string n) => n.Contains(".adapter.", StringComparison.Ordinal);

    public static readonly IReadOnlyDictionary<string, MethodCase> All = new Dictionary<string, MethodCase>
    {
        ["prompt-random"] = new(() => new PromptTuningOptions { NumVirtualTokens = 4 }, Prompt, false),
        ["prompt-vocab"] = new(() => new PromptTuningOptions { NumVirtualTokens = 3, Init = PromptTuningInit.SampleVocab }, Prompt, false),
        ["prompt-text"] = new(() => new PromptTuningOptions
        {
            NumVirtualTokens = 5, Init = PromptTuningInit.Text, InitText = "classify:", Tokenize = _ => new[] { 2, 17, 23, 3 },
        }, Prompt, false),
        ["ptuning-mlp"] = new(() => new PTuningOptions { NumVirtualTokens = 3, EncoderHiddenSize = 16 }, Prompt, false),
        ["ptuning-lstm"] = new(() => new PTuningOptions { NumVirtualTokens = 3, EncoderType = PromptEncoderType.Lstm, EncoderHiddenSize = 8 }, Prompt, false),
        ["prefix"] = new(() => new PrefixTuningOptions { NumVirtualTokens = 3 }, Prompt, false),
        ["prefix-projection"] = new(() => new PrefixTuningOptions { NumVirtualTokens = 2, PrefixProjection = true, EncoderHiddenSize = 16 }, Prompt, false),
        ["pfeiffer"] = new(() => new BottleneckAdapterOptions { ReductionFactor = 4 }, Adapter, true),
        ["houlsby"] = new(() => new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Houlsby, ReductionFactor = 8, Activation = "gelu" }, Adapter, true),
        ["parallel"] = new(() => new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Parallel, ReductionFactor = 2, Scaling = 4 }, Adapter, true),
        ["ia3"] = new(() => new IA3Options(), n => n.Contains(".ia3_l.", StringComparison.Ordinal), true),
        ["bitfit"] = new(() => new BitFitOptions(), BitFitModel.IsBias, true),
        ["full"] = new(() => new FullFineTuningOptions { KeepBaseWeights = true }, _ => true, true),
        ["lora"] = new(() => new LoraOptions { Rank = 2 }, n => n.Contains(".lora_", StringComparison.Ordinal), true),
    };

    /// <summary>Every case with BERT and with RoBERTa.</summary>
    public static IEnumerable<object[]> WithModels() =>
        All.Keys.SelectMany(name => new[] { new object[] { "bert", name }, new object[] { "roberta", name } });

    /// <summary>Whether a parameter belongs to the classification head (a module to save).</summary>
    public static bool IsHead(string name) => name.StartsWith("classifier.", StringComparison.Ordinal);
}
