using Microsoft.ML.Peft.Models.Gpt2;
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

    public static Tensor Ids(params long[] ids) => torch.tensor(ids, new long[] { 1, ids.Length }, ScalarType.Int64);

    public static int[][] Prompts => new[]
    {
        new[] { 5, 17, 42, 8, 3 },
        new[] { 60, 2 },
        new[] { 9, 9, 33, 71 },
    };
}
