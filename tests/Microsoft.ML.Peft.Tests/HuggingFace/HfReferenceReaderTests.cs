using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.Decoders;
using TorchSharp;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Tests of the Hugging Face parity harness itself, on fixtures written from our own models by
/// <see cref="HfReferenceWriter"/>: they prove that the reader and the comparison work and can fail, not parity.
/// </summary>
public sealed class HfReferenceReaderTests
{
    public static TheoryData<string> Kinds => new("gpt2", "llama", "qwen2");

    static TempFolder WriteOwnFixture(string kind)
    {
        var folder = new TempFolder();
        const int eos = 1;   // TinyDecoders' end of sequence
        switch (kind)
        {
            case "gpt2":
                using (var g = TinyDecoders.Gpt2Model(tied: true, seed: 3))
                    HfReferenceWriter.Write(folder.Path, g, "gpt2", g.Config.ToJson(), tied: true, eos, ropeTheta: null);
                break;
            default:
                var config = kind == "qwen2" ? TinyDecoders.Qwen2() : TinyDecoders.Llama(tied: false);
                using (var l = TinyDecoders.LlamaModel(config, seed: 3))
                    HfReferenceWriter.Write(folder.Path, l, kind, l.Config.ToJson(), config.TieWordEmbeddings, eos, config.RopeTheta);
                break;
        }
        return folder;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Reader_check_own_model_fixture_reads_back_and_matches(string kind)
    {
        using var folder = WriteOwnFixture(kind);
        Assert.True(HfReferenceFixture.Exists(folder.Path));
        using var fixture = HfReferenceFixture.Open(folder.Path);
        Assert.Equal(kind, fixture.ModelType);
        Assert.Equal(new long[] { 3, 8 }, fixture.InputIds.shape);
        Assert.Equal(new long[] { 3, 8, TinyDecoders.Vocab }, fixture.Logits.shape);
        Assert.Equal(new long[] { 3, HfReferenceWriter.MaxNewTokens }, fixture.GreedyCached.shape);
        // Left padding is dropped from the prompts: 8, 5 and 3 real tokens.
        Assert.Equal(new[] { 8, 5, 3 }, fixture.Prompts().Select(p => p.Count));
        Assert.Equal(new[] { 64, 12, 38 }, fixture.Prompts()[2]);
        // Positions count real tokens only, padded slots hold 1 (transformers' convention).
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 0, 1, 2 }, fixture.PositionIds[2].data<long>().ToArray());

        var outcome = HfReferenceComparison.AssertMatches(fixture);
        Assert.True(outcome.MaxLogitsDifference < 1e-6, $"same model, same inputs: {outcome.MaxLogitsDifference}");
        Assert.Equal(3, outcome.GreedyRows);
    }

    [Fact]
    public void Reader_check_rejects_logits_off_by_1e3_at_a_real_token()
    {
        using var folder = WriteOwnFixture("llama");
        HfReferenceWriter.Rewrite(folder.Path, t => t["logits"][1, 6, 4] += 1e-3f);   // row 1, position 6 is real
        using var fixture = HfReferenceFixture.Open(folder.Path);
        var e = Assert.ThrowsAny<XunitException>(() => HfReferenceComparison.AssertMatches(fixture));
        Assert.Contains("max |logits - transformers|", e.Message);
        Assert.Contains("row 1, position 6", e.Message);
    }

    [Fact]
    public void Reader_check_ignores_logits_at_padded_positions()
    {
        using var folder = WriteOwnFixture("gpt2");
        HfReferenceWriter.Rewrite(folder.Path, t => t["logits"][2, 0, 0] += 1000f);   // row 2, position 0 is padding
        using var fixture = HfReferenceFixture.Open(folder.Path);
        Assert.True(HfReferenceComparison.AssertMatches(fixture).MaxLogitsDifference < 1e-6);
    }

    [Fact]
    public void Reader_check_rejects_a_changed_greedy_id()
    {
        using var folder = WriteOwnFixture("qwen2");
        HfReferenceWriter.Rewrite(folder.Path, t =>
        {
            foreach (string name in new[] { "greedy_cached", "greedy_uncached" })
            {
                long id = t[name][0, 0].item<long>();
                t[name][0, 0] = tensor((id + 7) % TinyDecoders.Vocab);   // still a valid id, but not ours
            }
        });
        using var fixture = HfReferenceFixture.Open(folder.Path);
        var e = Assert.ThrowsAny<XunitException>(() => HfReferenceComparison.AssertMatches(fixture));
        Assert.Contains("greedy ids of row 0", e.Message);
    }

    [Fact]
    public void Reader_check_rejects_a_rope_base_that_config_json_does_not_give()
    {
        using var folder = WriteOwnFixture("llama");
        // What a reader that misses transformers 5's rope_parameters would produce: the JSON says one base, we read another.
        string json = Path.Combine(folder.Path, HfReferenceFixture.JsonFile);
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"rope_theta\":10000", "\"rope_theta\":500000"));
        using var fixture = HfReferenceFixture.Open(folder.Path);
        Assert.Equal(500000, fixture.RopeTheta);
        var e = Assert.ThrowsAny<XunitException>(() => HfReferenceComparison.AssertMatches(fixture));
        Assert.Contains("RoPE base", e.Message);
    }

    [Fact]
    public void Reader_check_refuses_an_unknown_format_version()
    {
        using var folder = WriteOwnFixture("gpt2");
        string json = Path.Combine(folder.Path, HfReferenceFixture.JsonFile);
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"format_version\":1", "\"format_version\":2"));
        var e = Assert.Throws<InvalidDataException>(() => HfReferenceFixture.Open(folder.Path).Dispose());
        Assert.Contains("format 2", e.Message);
    }
}
