using Microsoft.ML.Peft.Methods.PromptLearning;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tasks.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>
/// The causal-LM loss under prompt methods, as PEFT computes it: the labels gain -100 for the n virtual tokens, so no
/// virtual position is a target and the last virtual token's logits predict the first real token.
/// </summary>
public sealed class PromptMethodLossTests
{
    public static TheoryData<string, string> VirtualCases => DecoderCases.Matrix(DecoderCases.VirtualTokenMethods);

    public static TheoryData<string, string> PrefixCases => DecoderCases.Matrix(new[] { "prefix", "prefix-projection" });

    static (ICausalLM Model, PromptLearningModel Peft) Prompted(string method, string family)
    {
        var module = DecoderCases.Model(family);
        torch.manual_seed(7);
        var peft = (PromptLearningModel)DecoderCases.Method(method).Apply(module);
        module.eval();
        return ((ICausalLM)module, peft);
    }

    static Tensor Labels(Tensor ids, Tensor mask) => ids.masked_fill(mask.eq(0), CausalLmLoss.IgnoreIndex);

    static double CrossEntropy(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]).to(ScalarType.Float32), targets.reshape(-1), ignore_index: CausalLmLoss.IgnoreIndex).item<float>();

    [Theory]
    [MemberData(nameof(VirtualCases))]
    public void Loss_equals_the_loss_on_logits_with_the_virtual_positions_stripped(string method, string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (model, peft) = Prompted(method, family);
        int n = peft.NumVirtualTokens;
        var (ids, mask) = DecoderCases.Batch();
        long length = ids.shape[1];
        var logits = model.forward(ids, mask);                                     // (B, n + T, V)
        Assert.Equal(n + length, logits.shape[1]);
        var real = logits.narrow(1, n, length);                                     // the virtual positions stripped

        // The first real token unlabelled: exactly the plain next-token loss over the real positions.
        var labels = Labels(ids, mask).clone();
        labels[.., 0] = CausalLmLoss.IgnoreIndex;
        double expected = CrossEntropy(real.narrow(1, 0, length - 1), labels.narrow(1, 1, length - 1));
        Assert.Equal(expected, CausalLmLoss.Mean(model, ids, mask, labels).item<float>(), 5);

        // Labelled, the first real token is predicted by the last virtual token (PEFT's -100 padding in front).
        var all = Labels(ids, mask);
        double withFirst = CrossEntropy(logits.narrow(1, n - 1, length), all);
        Assert.Equal(withFirst, CausalLmLoss.Mean(model, ids, mask, all).item<float>(), 5);
        Assert.NotEqual(expected, withFirst, 3);

        // The summed form counts the same targets: T - 1 per row shifted, plus the first real token of each row.
        var (nll, tokens) = CausalLmLoss.Sum(model, ids, mask, all);
        Assert.Equal(all.ne(CausalLmLoss.IgnoreIndex).sum().item<long>(), tokens);
        Assert.Equal(withFirst, nll / tokens, 4);
    }

    [Theory]
    [MemberData(nameof(PrefixCases))]
    public void Prefix_tuning_keeps_one_logit_row_per_token(string method, string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (model, _) = Prompted(method, family);
        var (ids, mask) = DecoderCases.Batch();
        var logits = model.forward(ids, mask);
        Assert.Equal(ids.shape, logits.shape.Take(2).ToArray());
        var labels = Labels(ids, mask);
        long length = ids.shape[1];
        double expected = CrossEntropy(logits.narrow(1, 0, length - 1), labels.narrow(1, 1, length - 1));
        Assert.Equal(expected, CausalLmLoss.Mean(model, ids, mask, labels).item<float>(), 5);
    }

    [Theory]
    [MemberData(nameof(PrefixCases))]
    public void The_prefix_acts_as_past_keys_and_values_as_in_peft(string method, string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (model, peft) = Prompted(method, family);
        var (ids, mask) = DecoderCases.Batch();
        var prefixes = ((IDecoderPrompt)peft).KeyValuePrefixes(ids.shape[0])!;
        // PEFT hands the prefix to Hugging Face as past_key_values: the base model with those keys and values cached,
        // so the real tokens take positions P, P+1, ... and the mask gains P ones in front.
        Tensor expected, expectedMasked;
        using (peft.DisableAdapters())
        {
            using var cache = Preloaded(model.NumLayers, prefixes);
            expected = model.forward(ids, null, null, cache);
            using var maskedCache = Preloaded(model.NumLayers, prefixes);
            var prefixMask = torch.cat(new[] { torch.ones(ids.shape[0], peft.NumVirtualTokens, dtype: ScalarType.Int64), mask }, 1);
            expectedMasked = model.forward(ids, prefixMask, null, maskedCache);
        }
        Assert.True(DecoderCases.Same(expected, model.forward(ids)));
        Assert.True(DecoderCases.Same(expectedMasked, model.forward(ids, mask)));
    }

    static KvCache Preloaded(int layers, IReadOnlyList<(Tensor Key, Tensor Value)> prefixes)
    {
        var cache = new KvCache(layers);
        for (int i = 0; i < layers; i++) cache.Append(i, prefixes[i].Key, prefixes[i].Value);
        return cache;
    }
}
