using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Tests.HuggingFace;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

/// <summary>
/// adapter_config.json as PEFT 0.21 writes it carries fields for LoRA variants we do not implement. Their neutral values
/// must load; any other value must be refused by name, because ignoring it would compute another function.
/// </summary>
public sealed class LoraPeftConfigVariantTests
{
    // A config PEFT 0.21.0 wrote (rank and alpha patterns, every newer field at its neutral value).
    static JsonObject PeftWritten() => (JsonObject)JsonNode.Parse(File.ReadAllText(
        Path.Combine(PeftInterchangeFixture.Root(PeftInterchangeFixture.FromPeft), "llama_lora_patterns", "adapter", "adapter_config.json")))!;

    [Fact]
    public void Peft_021_config_with_neutral_variant_fields_loads()
    {
        var json = PeftWritten();
        Assert.False(json["lora_bias"]!.GetValue<bool>());   // the fixture does carry the fields
        Assert.True(json.ContainsKey("target_parameters") && json.ContainsKey("trainable_token_indices"));
        var options = LoraAdapterConfig.FromJson(json);
        Assert.Equal(4, options.Rank);
        Assert.Equal(2, options.RankPattern["down_proj"]);
        Assert.Equal(16, options.AlphaPattern["q_proj"]);
    }

    [Theory]
    [InlineData("lora_bias", "true")]
    [InlineData("use_qalora", "true")]
    [InlineData("layer_replication", "[[0, 1], [0, 2]]")]
    [InlineData("trainable_token_indices", "[3, 7]")]
    [InlineData("target_parameters", "[\"experts.gate_up_proj\"]")]
    [InlineData("alora_invocation_tokens", "[5, 9]")]
    [InlineData("arrow_config", "{\"top_k\": 3}")]
    [InlineData("kasa_config", "{}")]
    [InlineData("monteclora_config", "{}")]
    [InlineData("use_bdlora", "true")]
    [InlineData("use_some_future_variant", "true")]
    public void A_variant_we_do_not_implement_is_refused_by_name(string field, string value)
    {
        var json = PeftWritten();
        json[field] = JsonNode.Parse(value);
        var error = Assert.Throws<InvalidDataException>(() => LoraAdapterConfig.FromJson(json));
        Assert.Contains(field, error.Message);
        Assert.Contains("not supported", error.Message);
    }

    [Theory]
    [InlineData("lora_bias", "false")]
    [InlineData("layer_replication", "[]")]
    [InlineData("trainable_token_indices", "{}")]
    [InlineData("use_qalora", "false")]
    [InlineData("use_some_future_variant", "null")]
    [InlineData("velora_config", "{\"rank\": 2}")]   // VeLoRA changes only the backward pass
    public void A_variant_field_at_its_neutral_value_loads(string field, string value)
    {
        var json = PeftWritten();
        json[field] = JsonNode.Parse(value);
        Assert.Equal(4, LoraAdapterConfig.FromJson(json).Rank);
    }
}
