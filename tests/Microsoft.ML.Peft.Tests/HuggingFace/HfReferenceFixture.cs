using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// One reference fixture in the format <c>Fixtures/HuggingFace/make_reference.py</c> writes: <c>model/</c> (a Hugging
/// Face folder), <c>reference.safetensors</c> (inputs, logits, greedy ids) and <c>reference.json</c> (settings).
/// </summary>
internal sealed class HfReferenceFixture : IDisposable
{
    public const string ModelFolderName = "model", TensorsFile = "reference.safetensors", JsonFile = "reference.json";

    /// <summary>The decoder families make_reference.py writes (and make_generation_reference.py extends), in its order.</summary>
    public static readonly string[] Names = { "gpt2", "llama", "qwen2" };

    /// <summary>make_reference.py's further LLaMA-family variants: RoPE scaling (linear, Llama 3's) and Mistral's sliding window.</summary>
    public static readonly string[] VariantNames = { "llama_rope_linear", "llama_rope_llama3", "mistral" };

    /// <summary><c>tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace</c> of this checkout (found from the test binary's folder).</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Peft.sln"))) dir = dir.Parent;
            if (dir is null) throw new DirectoryNotFoundException($"No Peft.sln above {AppContext.BaseDirectory}.");
            return Path.Combine(dir.FullName, "tests", "Microsoft.ML.Peft.Tests", "Fixtures", "HuggingFace");
        }
    }

    /// <summary>The message of a test whose committed fixture is missing.</summary>
    public static string Missing(string folder) =>
        $"Fixture {folder} is missing: it is committed with the tests; regenerate it as Fixtures/HuggingFace/README.md says.";

    /// <summary>Whether <paramref name="folder"/> holds a complete fixture.</summary>
    public static bool Exists(string folder) =>
        File.Exists(Path.Combine(folder, JsonFile)) && File.Exists(Path.Combine(folder, TensorsFile))
        && File.Exists(Path.Combine(folder, ModelFolderName, "config.json"));

    HfReferenceFixture(string folder) => Folder = folder;

    public string Folder { get; }
    public string ModelFolder => Path.Combine(Folder, ModelFolderName);
    public string Name { get; private set; } = "";
    public string ModelType { get; private set; } = "";
    public int PadTokenId { get; private set; }
    public int EosTokenId { get; private set; }
    public int MaxNewTokens { get; private set; }
    public double LogitsTolerance { get; private set; }

    /// <summary>The RoPE base transformers used (LLaMA family), to check that our config reader found the same.</summary>
    public double? RopeTheta { get; private set; }

    /// <summary>torch / transformers versions that wrote the fixture, for messages.</summary>
    public string Versions { get; private set; } = "";

    public Tensor InputIds { get; private set; } = null!;        // (B, T) int64
    public Tensor AttentionMask { get; private set; } = null!;   // (B, T) int64 0/1
    public Tensor PositionIds { get; private set; } = null!;     // (B, T) int64
    public Tensor Logits { get; private set; } = null!;          // (B, T, V) float32
    public Tensor GreedyCached { get; private set; } = null!;    // (B, max_new_tokens) int64, pad after eos
    public Tensor GreedyUncached { get; private set; } = null!;  // the same with use_cache=False

    /// <summary>Reads a fixture folder.</summary>
    /// <exception cref="InvalidDataException">A field or tensor is missing; the message names it.</exception>
    public static HfReferenceFixture Open(string folder)
    {
        var fixture = new HfReferenceFixture(folder);
        string jsonPath = Path.Combine(folder, JsonFile), tensorsPath = Path.Combine(folder, TensorsFile);
        using var json = JsonDocument.Parse(File.ReadAllText(jsonPath));
        var root = json.RootElement;
        JsonElement Field(string name) => FixtureFiles.Field(root, name, jsonPath);
        FixtureFiles.CheckFormat(root, jsonPath);
        fixture.Name = Field("name").GetString()!;
        fixture.ModelType = Field("model_type").GetString()!;
        fixture.PadTokenId = Field("pad_token_id").GetInt32();
        fixture.EosTokenId = Field("eos_token_id").GetInt32();
        fixture.MaxNewTokens = Field("max_new_tokens").GetInt32();
        fixture.LogitsTolerance = Field("logits_tolerance").GetDouble();
        fixture.RopeTheta = root.TryGetProperty("rope_theta", out var theta) && theta.ValueKind == JsonValueKind.Number ? theta.GetDouble() : null;
        fixture.Versions = FixtureFiles.Versions(root, jsonPath);

        using var file = SafeTensorsFile.Open(tensorsPath);
        Tensor Read(string name) => FixtureFiles.Tensor(file, name, tensorsPath);
        fixture.InputIds = Read("input_ids");
        fixture.AttentionMask = Read("attention_mask");
        fixture.PositionIds = Read("position_ids");
        fixture.Logits = Read("logits");
        fixture.GreedyCached = Read("greedy_cached");
        fixture.GreedyUncached = Read("greedy_uncached");
        return fixture;
    }

    /// <summary>The prompts without their left padding, as a generator takes them.</summary>
    public IReadOnlyList<IReadOnlyList<int>> Prompts()
    {
        var ids = InputIds.data<long>().ToArray();
        var mask = AttentionMask.data<long>().ToArray();
        long rows = InputIds.shape[0], length = InputIds.shape[1];
        return Enumerable.Range(0, (int)rows)
            .Select(r => (IReadOnlyList<int>)Enumerable.Range(0, (int)length).Where(t => mask[r * length + t] == 1).Select(t => (int)ids[r * length + t]).ToArray())
            .ToList();
    }

    /// <summary>
    /// Row <paramref name="row"/> of a greedy tensor as a generator reports it: the ids up to and including the first
    /// end-of-sequence id; transformers fills the rest with the pad id, which must then be all that follows.
    /// </summary>
    public int[] GreedyRow(Tensor greedy, int row) => UpToEos(greedy, row, EosTokenId, PadTokenId, eosFiller: false, Folder);

    /// <summary>
    /// Row <paramref name="row"/> of transformers' (B, N) new ids up to and including the first <paramref name="eos"/>.
    /// What follows is filler: pad ids, or with <paramref name="eosFiller"/> eos ids then pad ids (transformers 5.17
    /// fills a beam that ended early with eos ids up to the length the search reached).
    /// </summary>
    /// <exception cref="InvalidDataException">Other ids follow the end of sequence; <paramref name="where"/> names the fixture.</exception>
    public static int[] UpToEos(Tensor generated, int row, int eos, int pad, bool eosFiller, string where)
    {
        var ids = generated[row].data<long>().Select(i => (int)i).ToArray();
        int end = Array.IndexOf(ids, eos);
        if (end < 0) return ids;
        var filler = ids.Skip(end + 1);
        if (eosFiller) filler = filler.SkipWhile(i => i == eos);
        if (filler.Any(i => i != pad))
            throw new InvalidDataException($"{where}: row {row} has ids other than {(eosFiller ? $"eos {eos} then " : "")}pad {pad} after eos {eos}: {string.Join(" ", ids)}.");
        return ids[..(end + 1)];
    }

    public void Dispose()
    {
        foreach (var t in new[] { InputIds, AttentionMask, PositionIds, Logits, GreedyCached, GreedyUncached }) t?.Dispose();
    }
}
