namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>
/// Finds the base-model prefix that separates a checkpoint's keys from a module's, as Hugging Face does when
/// a <c>BertModel</c> checkpoint (keys <c>embeddings.*</c>) is loaded into <c>BertForSequenceClassification</c>
/// (keys <c>bert.embeddings.*</c>), or the other way round.
/// </summary>
internal static class KeyPrefixDetector
{
    /// <summary>The prefix to add to, or remove from, checkpoint keys; both null when keys match best as they are.</summary>
    internal static (string? Add, string? Remove) Detect(IReadOnlyCollection<string> checkpointKeys, IReadOnlySet<string> moduleKeys)
    {
        int best = checkpointKeys.Count(moduleKeys.Contains);
        if (best == checkpointKeys.Count) return (null, null);
        string? add = null, remove = null;

        // Adding: a first segment of the module's keys that no checkpoint key starts with.
        foreach (string prefix in FirstSegments(moduleKeys))
        {
            if (checkpointKeys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal))) continue;
            int hits = checkpointKeys.Count(k => moduleKeys.Contains(prefix + k));
            if (hits > best) (best, add, remove) = (hits, prefix, null);
        }

        // Removing: a first segment of the checkpoint's keys that no module key starts with.
        foreach (string prefix in FirstSegments(checkpointKeys))
        {
            if (moduleKeys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal))) continue;
            int hits = checkpointKeys.Count(k => moduleKeys.Contains(Apply(k, null, prefix)));
            if (hits > best) (best, add, remove) = (hits, null, prefix);
        }
        return (add, remove);
    }

    /// <summary>The key with <paramref name="add"/> prepended or <paramref name="remove"/> stripped (when present).</summary>
    internal static string Apply(string key, string? add, string? remove)
    {
        if (add is not null) return add + key;
        if (remove is not null && key.StartsWith(remove, StringComparison.Ordinal)) return key[remove.Length..];
        return key;
    }

    /// <summary>Distinct "segment." prefixes, sorted so that ties resolve the same way every time.</summary>
    static IEnumerable<string> FirstSegments(IEnumerable<string> keys)
        => keys.Where(k => k.Contains('.')).Select(k => k[..(k.IndexOf('.') + 1)]).Distinct().Order(StringComparer.Ordinal);
}
