using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// One fixture of <c>Fixtures/HuggingFace/make_peft_reference.py</c>: an adapter folder in PEFT's format, the base it
/// belongs to, and the logits Hugging Face PEFT computed with it. <c>from_peft</c> adapters were written by PEFT on one
/// of the bases of make_reference.py or make_encoder_reference.py (which writes the <c>*_lora_seq_cls</c> cases);
/// <c>to_peft</c> bases and adapters were written by our code and read by PEFT.
/// </summary>
internal sealed class PeftInterchangeFixture : IDisposable
{
    public const string FromPeft = "from_peft", ToPeft = "to_peft";

    PeftInterchangeFixture(string folder) => Folder = folder;

    /// <summary><c>Fixtures/HuggingFace/peft/&lt;direction&gt;</c>.</summary>
    public static string Root(string direction) => Path.Combine(HfReferenceFixture.Root, "peft", direction);

    public static bool Exists(string folder) =>
        File.Exists(Path.Combine(folder, HfReferenceFixture.JsonFile)) && File.Exists(Path.Combine(folder, HfReferenceFixture.TensorsFile))
        && File.Exists(Path.Combine(folder, "adapter", "adapter_config.json"));

    public string Folder { get; }
    public string AdapterFolder => Path.Combine(Folder, "adapter");

    /// <summary>The Hugging Face folder of the base model: a make_reference.py or make_encoder_reference.py fixture's <c>model/</c>, or <c>base/</c> beside the adapter.</summary>
    public string BaseFolder { get; private set; } = "";
    public string PeftType { get; private set; } = "";
    public double LogitsTolerance { get; private set; }
    public string Versions { get; private set; } = "";

    public Tensor InputIds { get; private set; } = null!;        // (B, T) int64
    public Tensor AttentionMask { get; private set; } = null!;   // (B, T) int64 0/1
    public Tensor? PositionIds { get; private set; }             // (B, T) int64, tuner methods on the padded batch
    public Tensor? TokenTypeIds { get; private set; }            // (B, T) int64, encoders only
    public Tensor Logits { get; private set; } = null!;          // (B, n + T, V) float32, n virtual tokens in front

    public static PeftInterchangeFixture Open(string folder)
    {
        var fixture = new PeftInterchangeFixture(folder);
        string jsonPath = Path.Combine(folder, HfReferenceFixture.JsonFile), tensorsPath = Path.Combine(folder, HfReferenceFixture.TensorsFile);
        using var json = JsonDocument.Parse(File.ReadAllText(jsonPath));
        var root = json.RootElement;
        JsonElement Field(string name) => FixtureFiles.Field(root, name, jsonPath);
        FixtureFiles.CheckFormat(root, jsonPath);
        fixture.PeftType = Field("peft_type").GetString()!;
        fixture.LogitsTolerance = Field("logits_tolerance").GetDouble();
        fixture.Versions = FixtureFiles.Versions(root, jsonPath);
        fixture.BaseFolder = Field("direction").GetString() == FromPeft
            ? Path.Combine(HfReferenceFixture.Root, Field("base_fixture").GetString()!, HfReferenceFixture.ModelFolderName)
            : Path.Combine(folder, "base");

        using var file = SafeTensorsFile.Open(tensorsPath);
        Tensor Read(string name) => FixtureFiles.Tensor(file, name, tensorsPath);
        Tensor? Optional(string name) => file.Contains(name) ? Read(name) : null;
        fixture.InputIds = Read("input_ids");
        fixture.AttentionMask = Read("attention_mask");
        fixture.PositionIds = Optional("position_ids");
        fixture.TokenTypeIds = Optional("token_type_ids");
        fixture.Logits = Read("logits");
        return fixture;
    }

    public void Dispose()
    {
        foreach (var t in new[] { InputIds, AttentionMask, PositionIds, TokenTypeIds, Logits }) t?.Dispose();
    }
}
