using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tests.Decoders;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Beam search and the repetition penalty against Hugging Face's <c>generate()</c>, on the decoder fixtures
/// (<c>make_generation_reference.py</c>): the same new ids for every row of the left-padded batch, with our KV cache on
/// and off. Greedy search is compared in <see cref="HuggingFaceParityTests"/>; sampling cannot be (another random generator).
/// </summary>
public sealed class GenerationParityTests(ITestOutputHelper output)
{
    const string TensorsFile = "generation.safetensors", JsonFile = "generation.json";

    static readonly string[] Settings =
        { "beam4_early", "beam4_heuristic", "beam3_length_penalty_0.5", "beam3_length_penalty_2", "greedy_repetition_1.3" };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var fixture in HfReferenceFixture.Names)
            foreach (var setting in Settings) data.Add(fixture, setting);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Generated_ids_match_transformers(string name, string setting) =>
        AssertMatches(name, setting, model => model, new[] { true, false }, "");

    /// <summary>
    /// The screen for near-ties that the greedy fixtures get when they are written: the same ids must come out when every
    /// step's logits move by up to <see cref="TieScreen"/> (uniform noise, three seeds), 150 times our largest logit
    /// difference to transformers (6.3e-6), so no case hinges on a choice that such a difference could flip.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Generated_ids_do_not_hinge_on_near_ties(string name, string setting)
    {
        foreach (int seed in new[] { 1, 2, 3 })
            AssertMatches(name, setting, model => new NoisyLastLogits(model, TieScreen, seed), new[] { true }, $" with logits moved by up to {TieScreen} (seed {seed})");
    }

    const double TieScreen = 1e-3;

    void AssertMatches(string name, string setting, Func<ICausalLM, ICausalLM> wrap, bool[] caches, string condition)
    {
        string folder = Path.Combine(HfReferenceFixture.Root, name);
        Assert.True(File.Exists(Path.Combine(folder, TensorsFile)), HfReferenceFixture.Missing(folder));
        using var fixture = HfReferenceFixture.Open(folder);
        var (arguments, eos) = ReadSetting(folder, setting);
        using var scope = NewDisposeScope();
        using var file = SafeTensorsFile.Open(Path.Combine(folder, TensorsFile));
        var expected = file.ReadTensor(setting);   // (B, max_new_tokens), pad after eos
        Assert.True(file.ReadTensor("input_ids").eq(fixture.InputIds).all().item<bool>(), $"{folder}: {TensorsFile} was written for another batch.");

        using var module = (nn.Module)PretrainedDecoder.FromDirectory(fixture.ModelFolder).LoadModel();
        var model = wrap((ICausalLM)module);
        var prompts = fixture.Prompts();
        foreach (bool useCache in caches)
        {
            var options = new GenerationOptions
            {
                MaxNewTokens = (int)expected.shape[1], UseCache = useCache, EosTokenIds = new[] { eos }, PadTokenId = fixture.PadTokenId,
                NumBeams = arguments.GetProperty("num_beams").GetInt32(),
                LengthPenalty = arguments.TryGetProperty("length_penalty", out var lp) ? lp.GetDouble() : 1.0,
                EarlyStopping = arguments.TryGetProperty("early_stopping", out var es) && es.GetBoolean(),
                RepetitionPenalty = arguments.TryGetProperty("repetition_penalty", out var rp) ? rp.GetDouble() : 1.0,
            };
            var ours = new TextGenerator(model).GenerateIds(prompts, options);
            for (int row = 0; row < prompts.Count; row++)
            {
                var theirs = HfReferenceFixture.UpToEos(expected, row, eos, fixture.PadTokenId, eosFiller: true, $"{folder}/{TensorsFile} {setting}");
                Assert.True(theirs.SequenceEqual(ours[row]),
                    $"{name} {setting} (cache {(useCache ? "on" : "off")}){condition}, row {row}: ours [{string.Join(" ", ours[row])}], " +
                    $"transformers [{string.Join(" ", theirs)}] ({fixture.Versions}).");
            }
        }
        output.WriteLine($"{name} {setting}{condition}: {prompts.Count} rows equal, cache {string.Join(" and ", caches.Select(c => c ? "on" : "off"))}");
    }

    /// <summary>A decoder whose next-token logits carry uniform noise in [-<paramref name="size"/>, <paramref name="size"/>].</summary>
    sealed class NoisyLastLogits(ICausalLM inner, double size, int seed) : DelegatingCausalLM(inner)
    {
        readonly Generator generator = new((ulong)seed);

        public override Tensor LastLogits(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
        {
            var logits = Inner.LastLogits(inputIds, attentionMask, positionIds, cache);  // (B, vocab)
            using var noise = rand(logits.shape, generator: generator, dtype: logits.dtype);
            return logits.add_(noise.mul_(2 * size).sub_(size));
        }
    }

    // The generate() arguments of one setting, and the end-of-sequence id the fixture used (a frequent token, so that
    // beams end at different lengths), as generation.json records them.
    static (JsonElement Arguments, int Eos) ReadSetting(string folder, string setting)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, JsonFile)));
        Assert.True(json.RootElement.GetProperty("settings").TryGetProperty(setting, out var arguments), $"{folder}/{JsonFile} has no setting '{setting}'.");
        return (arguments.Clone(), json.RootElement.GetProperty("eos_token_id").GetInt32());
    }
}
