using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Methods.PromptLearning;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tests.Decoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>
/// Prompt tuning, P-Tuning and prefix tuning on GPT-2 and LLaMA (GQA) through the generator: the prompt is injected
/// once on the prefill step with a cache, every step without one, and callers never see it.
/// </summary>
public sealed class PromptMethodGenerationTests
{
    public static TheoryData<string, string> Cases => DecoderCases.Matrix(DecoderCases.PromptMethods);

    static (nn.Module Module, ICausalLM Model, PromptLearningModel Peft) Prompted(string method, string family)
    {
        var module = DecoderCases.Model(family);
        torch.manual_seed(7);
        var peft = (PromptLearningModel)DecoderCases.Method(method).Apply(module);
        module.eval();
        return (module, (ICausalLM)module, peft);
    }

    static IReadOnlyList<int[]> Greedy(ICausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, bool cache, int beams = 1) =>
        new TextGenerator(model).GenerateIds(prompts, new GenerationOptions { MaxNewTokens = 8, UseCache = cache, NumBeams = beams, EosTokenIds = Array.Empty<int>() });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_generation_with_the_cache_equals_generation_without_it(string method, string family)
    {
        using var scope = NewDisposeScope();
        var (_, model, peft) = Prompted(method, family);
        var prompts = TinyDecoders.Prompts;
        var cached = Greedy(model, prompts, cache: true);
        var uncached = Greedy(model, prompts, cache: false);
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(uncached[i], cached[i]);

        // The prompt acts: the base model continues at least one prompt differently.
        IReadOnlyList<int[]> plain;
        using (peft.DisableAdapters()) plain = Greedy(model, prompts, cache: true);
        Assert.Contains(Enumerable.Range(0, prompts.Length), i => !plain[i].SequenceEqual(cached[i]));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_left_padded_batch_equals_each_prompt_alone(string method, string family)
    {
        using var scope = NewDisposeScope();
        var (_, model, _) = Prompted(method, family);
        var prompts = TinyDecoders.Prompts;
        var batch = Greedy(model, prompts, cache: true);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(Greedy(model, new[] { prompts[i] }, cache: true)[0], batch[i]);
            Assert.Equal(Greedy(model, new[] { prompts[i] }, cache: false)[0], batch[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Beam_search_with_the_cache_equals_beam_search_without_it(string method, string family)
    {
        using var scope = NewDisposeScope();
        var (_, model, _) = Prompted(method, family);
        var prompts = TinyDecoders.Prompts;
        Assert.Equal(Greedy(model, prompts, cache: false, beams: 3), Greedy(model, prompts, cache: true, beams: 3));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_cache_starts_with_the_prompt_and_holds_key_value_heads(string method, string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (module, model, peft) = Prompted(method, family);
        var (ids, mask) = DecoderCases.Batch();
        using var cache = new KvCache(model.NumLayers);
        var logits = model.forward(ids, mask, null, cache);
        int n = peft.NumVirtualTokens;
        bool virtualTokens = !peft.IsPrefix;
        Assert.Equal(ids.shape[1] + (virtualTokens ? n : 0), logits.shape[1]);
        Assert.Equal(n, cache.PromptLength);
        Assert.Equal(n + ids.shape[1], cache.Length);
        var (kvHeads, headDim) = family == "gpt2" ? (4L, 4L) : (2L, 8L);  // tiny GPT-2: 4 heads of 4; tiny LLaMA: 2 kv heads of 8
        for (int layer = 0; layer < model.NumLayers; layer++)
            Assert.Equal(new[] { 2L, kvHeads, n + ids.shape[1], headDim }, cache.Get(layer)!.Value.Keys.shape);

        // A decode step: the caller's mask covers its own tokens only; one new position comes back.
        var next = torch.tensor(new long[] { 7, 7 }, new long[] { 2, 1 });
        var stepMask = torch.cat(new[] { mask, torch.ones(2, 1, dtype: ScalarType.Int64) }, 1);
        Assert.Equal(1, model.forward(next, stepMask, null, cache).shape[1]);
        Assert.Equal(n + ids.shape[1] + 1, cache.Length);

        // Without the cache the same two steps give the same last logits.
        var full = torch.cat(new[] { ids, next }, 1);
        var expected = model.forward(full, stepMask).select(1, -1);
        using var again = new KvCache(model.NumLayers);
        model.forward(ids, mask, null, again);
        var cached = model.forward(next, stepMask, null, again).select(1, -1);
        Assert.True(torch.allclose(expected, cached, rtol: 1e-4, atol: 1e-5), $"{method}/{family}: cached and uncached decode steps differ");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Disabled_prompt_computes_the_base_model(string method, string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (ids, mask) = DecoderCases.Batch();
        var baseLogits = ((ICausalLM)DecoderCases.Model(family)).forward(ids, mask);
        var (_, model, peft) = Prompted(method, family);
        Tensor disabled;
        using (peft.DisableAdapters()) disabled = model.forward(ids, mask);
        Assert.True(DecoderCases.Same(baseLogits, disabled));
        Assert.False(DecoderCases.Same(baseLogits, model.forward(ids, mask).narrow(1, model.forward(ids, mask).shape[1] - ids.shape[1], ids.shape[1])));
    }
}
