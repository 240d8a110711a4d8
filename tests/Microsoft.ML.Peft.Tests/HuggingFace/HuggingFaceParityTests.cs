using Xunit.Abstractions;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Parity with Hugging Face transformers itself: each fixture under <c>Fixtures/HuggingFace</c> (written by
/// <c>make_reference.py</c> from tiny random GPT-2, LLaMA and Qwen2 models) must load strictly with
/// <see cref="PretrainedDecoder"/> and give the same logits (within 1e-4 over real tokens) and greedy ids.
/// A fixture that has not been generated is reported as skipped, never as passed.
/// </summary>
public sealed class HuggingFaceParityTests(ITestOutputHelper output)
{
    public const string NotGeneratedReason =
        "Hugging Face reference fixtures not generated yet: run make_reference.py on a machine with transformers " +
        "(see tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/README.md).";

    public static TheoryData<string> Fixtures => new(HfReferenceFixture.Names);

    [SkippableTheory]
    [MemberData(nameof(Fixtures))]
    public void Logits_and_greedy_ids_match_transformers(string name)
    {
        string folder = Path.Combine(HfReferenceFixture.Root, name);
        Skip.IfNot(HfReferenceFixture.Exists(folder), NotGeneratedReason);
        using var fixture = HfReferenceFixture.Open(folder);
        var outcome = HfReferenceComparison.AssertMatches(fixture);
        output.WriteLine($"{name}: max |logits diff| {outcome.MaxLogitsDifference:G3} over real tokens, {outcome.GreedyRows} greedy rows equal; {fixture.Versions}");
    }
}
