using Microsoft.ML.Peft.Core;
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
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tests.Decoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>The method × decoder-family matrix: tiny GPT-2 (Conv1D, tied head) and tiny LLaMA (GQA 4:2, untied head).</summary>
internal static class DecoderCases
{
    public static readonly string[] Families = { "gpt2", "llama" };

    /// <summary>Prompt-learning methods: prompt tuning, P-Tuning (MLP and LSTM encoders), prefix tuning (plain and projected).</summary>
    public static readonly string[] PromptMethods = { "prompt", "ptuning", "ptuning-lstm", "prefix", "prefix-projection" };

    /// <summary>Methods that put virtual tokens in front of the input (so the logits gain n positions).</summary>
    public static readonly string[] VirtualTokenMethods = { "prompt", "ptuning" };

    /// <summary>Methods that compute exactly the base model at initialisation.</summary>
    public static readonly string[] IdentityAtInit = { "lora", "ia3", "pfeiffer", "houlsby", "parallel" };

    /// <summary>Every method we support on decoders.</summary>
    public static readonly string[] AllMethods =
        { "lora", "lora-all-linear", "qlora", "ia3", "pfeiffer", "houlsby", "parallel", "prompt", "ptuning", "ptuning-lstm", "prefix", "prefix-projection", "bitfit", "full" };

    public const int VirtualTokens = 4;

    public static TheoryData<string, string> Matrix(IEnumerable<string> methods)
    {
        var data = new TheoryData<string, string>();
        foreach (var method in methods)
            foreach (var family in Families) data.Add(method, family);
        return data;
    }

    /// <summary>A fresh tiny decoder in evaluation mode; the same seed gives the same weights.</summary>
    public static nn.Module Model(string family, int seed = 11) => family switch
    {
        "gpt2" => TinyDecoders.Gpt2Model(seed: seed),
        "llama" => TinyDecoders.LlamaModel(TinyDecoders.Llama(), seed),
        _ => throw new ArgumentException(family),
    };

    /// <summary>
    /// The model <paramref name="method"/> is tried on: <see cref="Model"/>, except BitFit on LLaMA, which needs biases
    /// (plain LLaMA has none), so it gets <c>attention_bias</c> and <c>mlp_bias</c>.
    /// </summary>
    public static nn.Module ModelFor(string method, string family, int seed = 11)
    {
        if (method != "bitfit" || family != "llama") return Model(family, seed);
        var config = TinyDecoders.Llama();
        config.AttentionBias = true;
        config.MlpBias = true;
        return TinyDecoders.LlamaModel(config, seed);
    }

    public static IPeftMethodOptions Method(string name) => name switch
    {
        "lora" => new LoraOptions { Rank = 4, Alpha = 8 },
        "lora-all-linear" => new LoraOptions { Rank = 4, Alpha = 8, TargetModules = TargetModules.Regex(TargetModules.AllLinear) },
        "qlora" => new QLoraOptions { Lora = new LoraOptions { Rank = 4, Alpha = 8 } },
        "ia3" => new IA3Options(),
        "pfeiffer" => new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Pfeiffer, ReductionFactor = 4 },
        "houlsby" => new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Houlsby, ReductionFactor = 4 },
        "parallel" => new BottleneckAdapterOptions { Kind = BottleneckAdapterKind.Parallel, ReductionFactor = 4, Scaling = 2 },
        "prompt" => new PromptTuningOptions { NumVirtualTokens = VirtualTokens },
        "ptuning" => new PTuningOptions { NumVirtualTokens = VirtualTokens, EncoderHiddenSize = 8 },
        "ptuning-lstm" => new PTuningOptions { NumVirtualTokens = VirtualTokens, EncoderType = PromptEncoderType.Lstm, EncoderHiddenSize = 8 },
        "prefix" => new PrefixTuningOptions { NumVirtualTokens = 3 },
        "prefix-projection" => new PrefixTuningOptions { NumVirtualTokens = 3, PrefixProjection = true, EncoderHiddenSize = 8 },
        "bitfit" => new BitFitOptions(),
        "full" => new FullFineTuningOptions(),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Moves every trainable parameter away from its initial value, so that a test sees the method act.</summary>
    public static void Perturb(IPeftModel peft, int seed = 3)
    {
        torch.manual_seed(seed);
        using var noGrad = no_grad();
        foreach (var p in peft.TrainableParameterList()) p.add_(torch.randn_like(p) * 0.1);
    }

    /// <summary>A right-padded (2, 7) batch: ids, 0/1 mask.</summary>
    public static (Tensor Ids, Tensor Mask) Batch()
    {
        var ids = torch.tensor(new long[] { 5, 17, 42, 8, 3, 60, 2, 9, 9, 33, 71, 12, 0, 0 }, new long[] { 2, 7 });
        var mask = torch.tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, new long[] { 2, 7 });
        return (ids, mask);
    }

    /// <summary>Bit-exact equality: same shape and every element equal.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    public static string TempFolder() => Path.Combine(Path.GetTempPath(), "peft-dmeth-" + Guid.NewGuid().ToString("N")[..12]);
}
