using System.Text.Json;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>The <c>pattern</c> of Split, Replace (normalizer and decoder): <c>{"String": "..."}</c> or <c>{"Regex": "..."}</c>.</summary>
internal static class JsonPattern
{
    public static Regex Read(JsonSource source, JsonElement component, string key)
    {
        JsonElement pattern = source.Object(component, "pattern", key + ".pattern") ?? throw source.Error(key + ".pattern", "missing.");
        if (source.OptionalString(pattern, "String", key + ".pattern.String") is string literal)
        {
            if (literal.Length == 0) throw source.Error(key + ".pattern.String", "is empty.");
            return new Regex(Regex.Escape(literal), RegexOptions.CultureInvariant);
        }

        string regex = source.OptionalString(pattern, "Regex", key + ".pattern.Regex")
            ?? throw source.Error(key + ".pattern", "expected a \"String\" or \"Regex\" member.");
        try
        {
            // The files carry Oniguruma patterns; the constructs tokenizers use (\p{L}, (?i:...), lookahead) mean the same in .NET.
            return new Regex(regex, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw source.Unsupported(key + ".pattern.Regex", $"the regular expression '{regex}' cannot be used in .NET: {e.Message}");
        }
    }
}
