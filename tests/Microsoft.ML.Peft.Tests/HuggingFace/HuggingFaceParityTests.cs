using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Parity with Hugging Face transformers itself: each fixture under <c>Fixtures/HuggingFace</c> (written by
/// <c>make_reference.py</c> from tiny random GPT-2, LLaMA, Qwen2 and Mistral models and LLaMA with RoPE scaling) must load strictly with
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

    /// <summary>
    /// The variant fixtures check what makes them variants: read without it (unscaled RoPE, no sliding window), the same
    /// weights give logits far from transformers', so a reader that dropped the setting could not pass.
    /// </summary>
    [Theory]
    [InlineData("llama_rope_linear", "rope_parameters")]
    [InlineData("llama_rope_llama3", "rope_parameters")]
    [InlineData("mistral", "sliding_window")]
    public void Without_its_variant_setting_a_fixture_is_far_from_transformers(string name, string field)
    {
        using var fixture = HfReferenceFixture.Open(Path.Combine(HfReferenceFixture.Root, name));
        using var folder = new TempFolder();
        foreach (var file in Directory.GetFiles(fixture.ModelFolder)) File.Copy(file, Path.Combine(folder.Path, Path.GetFileName(file)));
        string configPath = Path.Combine(folder.Path, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config[field] = field == "rope_parameters" ? new JsonObject { ["rope_type"] = "default", ["rope_theta"] = fixture.RopeTheta } : null;
        File.WriteAllText(configPath, config.ToJsonString());

        using var module = (nn.Module)PretrainedDecoder.FromDirectory(folder.Path).LoadModel();
        var model = (ICausalLM)module;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(fixture.InputIds, fixture.AttentionMask, fixture.PositionIds);
        double max = RealTokenDifference.Max(logits, fixture.Logits, fixture.AttentionMask, name);
        output.WriteLine($"{name} without {field}: max |logits diff| {max:G3} over real tokens");
        Assert.True(max > 1, $"{name}: without {field} our logits are only {max:G3} from transformers'; the fixture does not exercise it.");
    }
}
