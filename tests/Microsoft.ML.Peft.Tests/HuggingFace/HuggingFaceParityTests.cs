using Xunit.Abstractions;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Parity with Hugging Face transformers itself: each fixture under <c>Fixtures/HuggingFace</c> (written by
/// <c>make_reference.py</c> from tiny random GPT-2, LLaMA and Qwen2 models) must load strictly with
/// <see cref="PretrainedDecoder"/> and give the same logits (within 1e-4 over real tokens) and greedy ids.
/// The fixtures are committed; a missing one fails the test.
/// </summary>
public sealed class HuggingFaceParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Fixtures => new(HfReferenceFixture.Names.Concat(HfReferenceFixture.VariantNames));

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Logits_and_greedy_ids_match_transformers(string name)
    {
        string folder = Path.Combine(HfReferenceFixture.Root, name);
        Assert.True(HfReferenceFixture.Exists(folder), HfReferenceFixture.Missing(folder));
        using var fixture = HfReferenceFixture.Open(folder);
        var outcome = HfReferenceComparison.AssertMatches(fixture);
        output.WriteLine($"{name}: max |logits diff| {outcome.MaxLogitsDifference:G3} over real tokens, {outcome.GreedyRows} greedy rows equal; {fixture.Versions}");
    }
}
