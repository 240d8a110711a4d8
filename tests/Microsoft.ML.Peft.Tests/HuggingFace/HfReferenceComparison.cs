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

    // Largest |ours - reference| over the real tokens; padded query positions attend to nothing real and are
    // implementation-defined (HF's finite minimum vs our boolean mask), so they are left out.
    static double CompareLogits(ICausalLM model, HfReferenceFixture fixture, string where)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(fixture.InputIds, fixture.AttentionMask, fixture.PositionIds);   // (B, T, V)
        Assert.True(logits.shape.SequenceEqual(fixture.Logits.shape),
            $"{where}: logits shape [{string.Join(", ", logits.shape)}], expected [{string.Join(", ", fixture.Logits.shape)}].");
        var perToken = (logits.to(ScalarType.Float32) - fixture.Logits).abs().amax(new long[] { -1 });   // (B, T)
        var real = fixture.AttentionMask.eq(1);
        Assert.True(real.any().item<bool>(), $"{where}: the attention mask has no real token.");
        var masked = perToken.masked_fill(real.logical_not(), 0);
        double max = masked.max().item<float>();
        if (!(max < fixture.LogitsTolerance))
        {
            long flat = masked.reshape(-1).argmax().item<long>();
            long length = masked.shape[1];
            Assert.Fail($"{where}: max |logits - transformers| over real tokens is {max:G3} (tolerance {fixture.LogitsTolerance:G3}), " +
                        $"largest at row {flat / length}, position {flat % length}.");
        }
        return max;
    }
}
