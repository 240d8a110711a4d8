using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Checkpoints;

namespace Microsoft.ML.Peft.Tests.Methods.Common;

/// <summary>Compares a saved adapter folder with a hand-written fixture of keys, shapes and config fields.</summary>
static class FormatAssert
{
    /// <summary>The file's keys equal <paramref name="expectedShapes"/>'s, each with that shape.</summary>
    public static void Weights(string folder, IReadOnlyDictionary<string, long[]> expectedShapes)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(folder, "adapter_model.safetensors"));
        Assert.Equal(expectedShapes.Keys.Order(), file.Keys.Order());
        foreach (var (key, shape) in expectedShapes) Assert.Equal(shape, file.GetEntry(key).Shape);
    }

    /// <summary>The config has exactly the fixture's fields, with equal values.</summary>
    public static void Config(string folder, string expectedJson)
    {
        var expected = JsonNode.Parse(expectedJson)!.AsObject();
        var actual = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")))!.AsObject();
        Assert.Equal(expected.Select(kv => kv.Key).Order(), actual.Select(kv => kv.Key).Order());
        foreach (var (key, value) in expected)
            Assert.True(JsonNode.DeepEquals(value, actual[key]), $"{key}: {actual[key]?.ToJsonString()} != {value?.ToJsonString()}");
    }
}
