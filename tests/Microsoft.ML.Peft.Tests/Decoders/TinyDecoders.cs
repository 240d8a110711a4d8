using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Decoders;

/// <summary>Tiny random decoder configurations and models, seconds to build and run.</summary>
internal static class TinyDecoders
{
    public const int Vocab = 97;

    // A wide initialisation spreads the logits so that greedy choices are not near-ties that float noise could flip.
    public static Gpt2Config Gpt2(bool tied = true, int vocab = Vocab) => new()
    {
        VocabSize = vocab, NPositions = 64, NEmbd = 16, NLayer = 2, NHead = 4, TieWordEmbeddings = tied,
        InitializerRange = 0.3, BosTokenId = 0, EosTokenId = 1,
    };

    public static Gpt2LMHeadModel Gpt2Model(bool tied = true, int vocab = Vocab, int seed = 11)
    {
        torch.manual_seed(seed);
        var model = new Gpt2LMHeadModel(Gpt2(tied, vocab));
        model.eval();
        return model;
    }

    /// <summary>LLaMA with grouped-query attention (4 query heads share 2 key/value heads) and an untied head.</summary>
    public static LlamaConfig Llama(bool tied = false, int kvHeads = 2) => new()
    {
        ModelType = "llama", VocabSize = Vocab, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = kvHeads, MaxPositionEmbeddings = 64, TieWordEmbeddings = tied,
        InitializerRange = 0.3, BosTokenId = new() { 0 }, EosTokenId = new() { 1 }, RmsNormEps = 1e-6,
    };

    /// <summary>Qwen2 style: q/k/v biases (made non-zero so they matter), o_proj without, GQA, tied head, large RoPE base.</summary>
    public static LlamaConfig Qwen2() => new()
    {
        ModelType = "qwen2", VocabSize = Vocab, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 1, MaxPositionEmbeddings = 64, TieWordEmbeddings = true,
        InitializerRange = 0.3, RopeTheta = 1000000, BosTokenId = null, EosTokenId = new() { 1 }, SlidingWindow = 4, UseSlidingWindow = false,
    };

    public static LlamaForCausalLM LlamaModel(LlamaConfig config, int seed = 11)
    {
        torch.manual_seed(seed);
        var model = new LlamaForCausalLM(config);
        using (no_grad())
            foreach (var (name, parameter) in model.named_parameters())
                if (name.EndsWith(".bias", StringComparison.Ordinal)) parameter.normal_(0, 0.3);
        model.eval();
        return model;
    }

    public static Tensor Ids(params long[] ids) => torch.tensor(ids, new long[] { 1, ids.Length }, ScalarType.Int64);

    public static int[][] Prompts => new[]
    {
        new[] { 5, 17, 42, 8, 3 },
        new[] { 60, 2 },
        new[] { 9, 9, 33, 71 },
    };
}
