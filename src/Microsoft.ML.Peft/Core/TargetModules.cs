namespace Microsoft.ML.Peft.Core;

/// <summary>
/// Which <c>Linear</c> modules an adapter wraps, with Python PEFT's semantics: a list of names, each matching a
/// module whose full dotted name equals it or ends with <c>.name</c>; or one regular expression that must match the
/// whole name; or <see cref="AllLinear"/>. Then <see cref="LayersToTransform"/> keeps only the given block indices
/// and <see cref="ExcludeModules"/> removes modules again.
/// </summary>
public sealed record TargetModules
{
    /// <summary>The keyword for every linear layer but the output head (PEFT's <c>all-linear</c>).</summary>
    public const string AllLinear = "all-linear";

    /// <summary>Module names matched by equality or as a dotted suffix (e.g. <c>query</c>, <c>value</c>).</summary>
    public IReadOnlyList<string>? Names { get; init; }

    /// <summary>A regular expression that must match a module's whole dotted name, or <see cref="AllLinear"/>.</summary>
    public string? Pattern { get; init; }

    /// <summary>Block indices to adapt (the <c>i</c> of <c>layer.i.</c>, <c>layers.i.</c> or <c>h.i.</c>); null for all.</summary>
    public IReadOnlyList<int>? LayersToTransform { get; init; }

    /// <summary>Names (equality or dotted suffix) never adapted, even when matched above.</summary>
    public IReadOnlyList<string>? ExcludeModules { get; init; }

    /// <summary>A list of names, e.g. <c>TargetModules.Of("query", "value")</c>.</summary>
    public static TargetModules Of(params string[] names) => new() { Names = names };

    /// <summary>A full-match regular expression, or <see cref="AllLinear"/>.</summary>
    public static TargetModules Regex(string pattern) => new() { Pattern = pattern };

    /// <summary>Whether this selects every linear layer but the head.</summary>
    public bool IsAllLinear => string.Equals(Pattern, AllLinear, StringComparison.OrdinalIgnoreCase);

    /// <summary>Readable form for error messages.</summary>
    public override string ToString() =>
        Pattern is not null ? $"'{Pattern}'" : "[" + string.Join(", ", Names ?? Array.Empty<string>()) + "]";
}
