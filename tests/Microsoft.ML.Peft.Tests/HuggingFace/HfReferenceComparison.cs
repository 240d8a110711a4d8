using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Runs our decoder on a fixture's inputs and asserts that it reproduces the fixture: logits within its tolerance
/// over real (unpadded) tokens, and the same greedy ids with and without our KV cache.
/// </summary>
internal static class HfReferenceComparison
{
    /// <summary>What was compared, for the test output.</summary>
    public sealed record Outcome(double MaxLogitsDifference, int GreedyRows);

    /// <summary>Loads <c>fixture.ModelFolder</c> strictly with <see cref="PretrainedDecoder"/> and compares.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">A difference; the message names the fixture, what differs, and the versions that wrote it.</exception>
    public static Outcome AssertMatches(HfReferenceFixture fixture)
    {
        string where = $"fixture {fixture.Folder} (written by {fixture.Versions})";
        var decoder = PretrainedDecoder.FromDirectory(fixture.ModelFolder);
        Assert.True(decoder.ModelType == fixture.ModelType, $"{where}: model_type read as '{decoder.ModelType}', expected '{fixture.ModelType}'.");
        // transformers 5 writes the RoPE base inside rope_parameters; a reader that misses it would silently use 10000.
        if (fixture.RopeTheta is double theta)
            Assert.True(decoder.LlamaConfig!.RotaryBase == theta,
                $"{where}: config.json's RoPE base is {theta} but our LlamaConfig read {decoder.LlamaConfig.RotaryBase} (rope_theta vs rope_parameters.rope_theta?).");

        var model = decoder.LoadModel();   // strict: a missing or unexpected key throws naming it
        try
        {
            double maxDifference = CompareLogits(model, fixture, where);
            var prompts = fixture.Prompts();
            foreach (bool useCache in new[] { true, false })
            {
                var options = new GenerationOptions
                {
                    MaxNewTokens = fixture.MaxNewTokens, UseCache = useCache,
                    EosTokenIds = new[] { fixture.EosTokenId }, PadTokenId = fixture.PadTokenId,
                };
                var ours = new TextGenerator(model).GenerateIds(prompts, options);
                for (int row = 0; row < prompts.Count; row++)
                {
                    var expected = fixture.GreedyRow(fixture.GreedyCached, row);
                    Assert.True(expected.SequenceEqual(fixture.GreedyRow(fixture.GreedyUncached, row)),
                        $"{where}: the fixture's own cached and uncached greedy ids differ in row {row}; regenerate it.");
                    Assert.True(expected.SequenceEqual(ours[row]),
                        $"{where}: greedy ids of row {row} (our cache {(useCache ? "on" : "off")}) are [{string.Join(" ", ours[row])}], " +
                        $"transformers gave [{string.Join(" ", expected)}].");
                }
            }
            return new Outcome(maxDifference, prompts.Count);
        }
        finally
        {
            ((nn.Module)model).Dispose();
        }
    }

    static double CompareLogits(ICausalLM model, HfReferenceFixture fixture, string where)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(fixture.InputIds, fixture.AttentionMask, fixture.PositionIds);   // (B, T, V)
        return RealTokenDifference.AssertWithin(logits, fixture.Logits, fixture.AttentionMask, fixture.LogitsTolerance, "logits - transformers", where);
    }
}
