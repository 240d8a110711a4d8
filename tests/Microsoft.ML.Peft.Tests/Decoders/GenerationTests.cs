using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Models;

namespace Microsoft.ML.Peft.Tests.Decoders;

/// <summary>Decoding invariants, checked on tiny random GPT-2 and LLaMA models (no tokenizer needed).</summary>
public sealed class GenerationTests
{
    public static TheoryData<string> Models => new() { "gpt2", "llama", "qwen2" };

    static ICausalLM Model(string kind, int seed = 11) => kind switch
    {
        "gpt2" => TinyDecoders.Gpt2Model(seed: seed),
        "llama" => TinyDecoders.LlamaModel(TinyDecoders.Llama(), seed),
        _ => TinyDecoders.LlamaModel(TinyDecoders.Qwen2(), seed),
    };

    static IReadOnlyList<int[]> Run(ICausalLM model, GenerationOptions options, params int[][] prompts) =>
        new TextGenerator(model).GenerateIds(prompts, options);

    // No end-of-sequence id: every row runs the full budget, so the comparisons see all the tokens.
    static GenerationOptions Greedy(int tokens = 12) => new() { MaxNewTokens = tokens, EosTokenIds = Array.Empty<int>() };

    [Theory]
    [MemberData(nameof(Models))]
    public void GreedyWithCacheEqualsWithout(string kind)
    {
        var model = Model(kind);
        var withCache = Run(model, Greedy(), TinyDecoders.Prompts);
        var without = Run(model, new GenerationOptions { MaxNewTokens = 12, EosTokenIds = Array.Empty<int>(), UseCache = false }, TinyDecoders.Prompts);
        Assert.Equal(without, withCache);
        Assert.All(withCache, row => Assert.Equal(12, row.Length));
        ((IDisposable)model).Dispose();
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void LeftPaddedBatchEqualsEachPromptAlone(string kind)
    {
        var model = Model(kind);
        var batch = Run(model, Greedy(), TinyDecoders.Prompts);
        for (int i = 0; i < TinyDecoders.Prompts.Length; i++)
            Assert.Equal(Run(model, Greedy(), TinyDecoders.Prompts[i])[0], batch[i]);
        ((IDisposable)model).Dispose();
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void OneBeamEqualsGreedy(string kind)
    {
        var model = Model(kind);
        var greedy = Run(model, Greedy(), TinyDecoders.Prompts);
        var beam = Run(model, new GenerationOptions { MaxNewTokens = 12, EosTokenIds = Array.Empty<int>(), NumBeams = 1 }, TinyDecoders.Prompts);
        Assert.Equal(greedy, beam);
        ((IDisposable)model).Dispose();
    }

    [Fact]
    public void OneBeamEqualsGreedyWhenEndOfSequenceIsReached()
    {
        var model = Model("gpt2");
        // Make the end id the token greedy produces third, so both must stop there.
        var free = Run(model, Greedy(), TinyDecoders.Prompts[0])[0];
        var options = new GenerationOptions { MaxNewTokens = 12, EosTokenIds = new[] { free[2] } };
        var greedy = Run(model, options, TinyDecoders.Prompts[0])[0];
        var beamPath = BeamSearchDecoderForOneBeam(model, options);
        Assert.Equal(free.Take(Array.IndexOf(free, free[2]) + 1), greedy);
        Assert.Equal(greedy, beamPath);
        ((IDisposable)model).Dispose();
    }

    static int[] BeamSearchDecoderForOneBeam(ICausalLM model, GenerationOptions options)
    {
        // NumBeams = 1 routes to greedy in TextGenerator; run the beam search itself to check it.
        var stop = new StopConditions(options.EosTokenIds!, options.StopSequences, null);
        return BeamSearchDecoder.Run(model, new[] { TinyDecoders.Prompts[0] }, options, stop, padId: 0)[0];
    }

    [Fact]
    public void BeamSearchOfOneBeamEqualsGreedyOnABatch()
    {
        var model = Model("llama");
        var options = Greedy(10);
        var greedy = Run(model, options, TinyDecoders.Prompts);
        var stop = new StopConditions(Array.Empty<int>(), Array.Empty<string>(), null);
        var beam = BeamSearchDecoder.Run(model, TinyDecoders.Prompts, options, stop, padId: 0);
        Assert.Equal(greedy, beam);
        ((IDisposable)model).Dispose();
    }

    [Fact]
    public void WiderBeamsFindASequenceAtLeastAsLikelyAsGreedy()
    {
        var model = Model("gpt2");
        var greedy = Run(model, Greedy(6), TinyDecoders.Prompts[1])[0];
        var beam = Run(model, new GenerationOptions { MaxNewTokens = 6, EosTokenIds = Array.Empty<int>(), NumBeams = 4, LengthPenalty = 0 }, TinyDecoders.Prompts[1])[0];
        Assert.Equal(6, beam.Length);
        Assert.True(SequenceLogProb(model, TinyDecoders.Prompts[1], beam) >= SequenceLogProb(model, TinyDecoders.Prompts[1], greedy) - 1e-4);
        ((IDisposable)model).Dispose();
    }

    static double SequenceLogProb(ICausalLM model, int[] prompt, int[] generated)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        var all = prompt.Concat(generated).Select(i => (long)i).ToArray();
        var logProbs = model.forward(TinyDecoders.Ids(all)).log_softmax(-1);   // (1, T, V)
        double total = 0;
        for (int t = 0; t < generated.Length; t++)
            total += logProbs[0, prompt.Length - 1 + t, generated[t]].item<float>();
        return total;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void SeededSamplingIsReproducibleAndDiffersAcrossSeeds(string kind)
    {
        var model = Model(kind);
        GenerationOptions Sampling(long seed) => new() { MaxNewTokens = 16, EosTokenIds = Array.Empty<int>(), DoSample = true, Temperature = 1.5, Seed = seed };
        var a = Run(model, Sampling(1), TinyDecoders.Prompts);
        var b = Run(model, Sampling(1), TinyDecoders.Prompts);
        var c = Run(model, Sampling(2), TinyDecoders.Prompts);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        ((IDisposable)model).Dispose();
    }

    [Fact]
    public void TopKOneSamplingEqualsGreedy()
    {
        var model = Model("gpt2");
        var greedy = Run(model, Greedy(), TinyDecoders.Prompts);
        var sampled = Run(model, new GenerationOptions { MaxNewTokens = 12, EosTokenIds = Array.Empty<int>(), DoSample = true, TopK = 1, Temperature = 3, Seed = 5 }, TinyDecoders.Prompts);
        Assert.Equal(greedy, sampled);
        ((IDisposable)model).Dispose();
    }

    [Fact]
    public void TinyTopPSamplingEqualsGreedy()
    {
        var model = Model("llama");
        var greedy = Run(model, Greedy(), TinyDecoders.Prompts);
        var sampled = Run(model, new GenerationOptions { MaxNewTokens = 12, EosTokenIds = Array.Empty<int>(), DoSample = true, TopP = 1e-6, Seed = 5 }, TinyDecoders.Prompts);
        Assert.Equal(greedy, sampled);
        ((IDisposable)model).Dispose();
    }

    [Fact]
    public void FinishedRowsStopAtEndOfSequenceAndOthersGoOn()
    {
        var model = Model("gpt2");
        var free = Run(model, Greedy(), TinyDecoders.Prompts);
        int eos = free[0][1];
        var stopped = Run(model, new GenerationOptions { MaxNewTokens = 12, EosTokenIds = new[] { eos } }, TinyDecoders.Prompts);
        for (int i = 0; i < free.Count; i++)
        {
            int at = Array.IndexOf(free[i], eos);
            Assert.Equal(at < 0 ? free[i] : free[i].Take(at + 1).ToArray(), stopped[i]);
        }
        ((IDisposable)model).Dispose();
    }

    [Fact]
    public void StopTokenIdsEndGeneration()
    {
        var model = Model("llama");
        var free = Run(model, Greedy(), TinyDecoders.Prompts[0])[0];
        var stopped = Run(model, new GenerationOptions { MaxNewTokens = 12, EosTokenIds = Array.Empty<int>(), StopTokenIds = new[] { free[3] } }, TinyDecoders.Prompts[0])[0];
        Assert.Equal(free.Take(Array.IndexOf(free, free[3]) + 1), stopped);
        ((IDisposable)model).Dispose();
    }

    [Fact]
    public void RepetitionPenaltyFollowsHuggingFace()
    {
        using var logits = TorchSharp.torch.tensor(new float[] { 2f, -2f, 1f, -1f }).unsqueeze(0);
        using var seen = TorchSharp.torch.tensor(new long[] { 0, 1, 2, 2 }).unsqueeze(0);
        using var mask = TorchSharp.torch.tensor(new long[] { 1, 1, 0, 0 }).unsqueeze(0);    // id 2 only as padding
        using var penalized = LogitsProcessor.RepetitionPenalty(logits, seen, mask, 2.0);
        Assert.Equal(new[] { 1f, -4f, 1f, -1f }, penalized.data<float>().ToArray());
    }

    [Fact]
    public void TopPKeepsTheTokensThatReachTheMass()
    {
        // Probabilities 0.5, 0.3, 0.2 (log space): p = 0.7 keeps the first two (0.5 < 0.7, 0.5 + 0.3 crosses it).
        using var logits = TorchSharp.torch.tensor(new[] { MathF.Log(0.3f), MathF.Log(0.5f), MathF.Log(0.2f) }).unsqueeze(0);
        using var kept = LogitsProcessor.TopP(logits, 0.7);
        var values = kept.data<float>().ToArray();
        Assert.True(float.IsFinite(values[0]) && float.IsFinite(values[1]));
        Assert.True(float.IsNegativeInfinity(values[2]));
        using var topK = LogitsProcessor.TopK(logits, 1);
        Assert.Equal(1, topK.data<float>().ToArray().Count(float.IsFinite));
    }
}
