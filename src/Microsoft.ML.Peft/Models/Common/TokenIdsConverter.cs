using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// Reads a <c>config.json</c> token id field that may be one id or a list of ids (LLaMA 3 lists several
/// <c>eos_token_id</c>s) or null, and writes a single id back as a number so saved configs look like Hugging Face's.
/// </summary>
public sealed class TokenIdsConverter : JsonConverter<List<int>?>
{
    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override List<int>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return null;
            case JsonTokenType.Number: return new List<int> { reader.GetInt32() };
            case JsonTokenType.StartArray:
                var ids = new List<int>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number) throw new JsonException("A token id list must hold numbers only.");
                    ids.Add(reader.GetInt32());
                }
                return ids;
            default: throw new JsonException($"A token id must be a number, a list of numbers or null, not {reader.TokenType}.");
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, List<int>? value, JsonSerializerOptions options)
    {
        if (value is null) writer.WriteNullValue();
        else if (value.Count == 1) writer.WriteNumberValue(value[0]);
        else JsonSerializer.Serialize(writer, value, options);
    }
}
