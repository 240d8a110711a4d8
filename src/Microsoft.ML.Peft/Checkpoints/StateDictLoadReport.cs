namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>What <see cref="StateDictLoader"/> did: which keys were loaded, left fresh or ignored.</summary>
public sealed class StateDictLoadReport
{
    internal StateDictLoadReport(IReadOnlyList<string> loaded, IReadOnlyList<string> fresh, IReadOnlyList<string> ignored,
                                 string? addedPrefix, string? removedPrefix, long bytesRead)
    {
        LoadedKeys = loaded;
        FreshKeys = fresh;
        IgnoredKeys = ignored;
        AddedPrefix = addedPrefix;
        RemovedPrefix = removedPrefix;
        BytesRead = bytesRead;
    }

    /// <summary>Module keys whose values now come from the checkpoint.</summary>
    public IReadOnlyList<string> LoadedKeys { get; }

    /// <summary>Module keys the checkpoint did not provide, which keep their initial values (e.g. a new classification head).</summary>
    public IReadOnlyList<string> FreshKeys { get; }

    /// <summary>Checkpoint keys (as stored) that were not loaded into anything.</summary>
    public IReadOnlyList<string> IgnoredKeys { get; }

    /// <summary>The prefix added to every checkpoint key (e.g. <c>bert.</c>), when one was detected.</summary>
    public string? AddedPrefix { get; }

    /// <summary>The prefix removed from checkpoint keys (e.g. <c>bert.</c>), when one was detected.</summary>
    public string? RemovedPrefix { get; }

    /// <summary>Bytes of tensor data read from the checkpoint.</summary>
    public long BytesRead { get; }

    /// <inheritdoc />
    public override string ToString()
        => $"loaded {LoadedKeys.Count} tensors ({BytesRead / 1e6:F1} MB), {FreshKeys.Count} fresh, {IgnoredKeys.Count} ignored"
           + (AddedPrefix is null ? "" : $", added prefix '{AddedPrefix}'")
           + (RemovedPrefix is null ? "" : $", removed prefix '{RemovedPrefix}'");
}
