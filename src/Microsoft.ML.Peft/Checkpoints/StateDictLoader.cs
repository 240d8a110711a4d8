using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>
/// Loads a safetensors checkpoint into a TorchSharp module by its <c>state_dict()</c> names (parameters and
/// buffers), like PyTorch's <c>load_state_dict(strict=True)</c>. Every key, shape and dtype is checked from
/// the headers before any tensor is touched, so a checkpoint that does not fit fails with one exception
/// listing every problem and leaves the module unchanged. Tensors are then read one at a time straight into
/// the module's memory, so loading needs about the module's size and not twice that.
/// </summary>
public static class StateDictLoader
{
    /// <summary>Opens the checkpoint at <paramref name="path"/> (folder, index or file) and loads it into <paramref name="module"/>.</summary>
    /// <exception cref="CheckpointException">The checkpoint is invalid or does not fit the module.</exception>
    public static StateDictLoadReport Load(nn.Module module, string path, StateDictLoadOptions? options = null)
    {
        using var checkpoint = SafeTensorsCheckpoint.Open(path);
        return Load(module, checkpoint, options);
    }

    /// <summary>Loads <paramref name="checkpoint"/> into <paramref name="module"/>.</summary>
    /// <exception cref="CheckpointException">The checkpoint does not fit the module; the message lists every missing and unexpected key and every mismatch.</exception>
    public static StateDictLoadReport Load(nn.Module module, SafeTensorsCheckpoint checkpoint, StateDictLoadOptions? options = null)
    {
        options ??= new StateDictLoadOptions();
        // state_dict() hands out the module's own parameter and buffer objects, so they are not disposed here.
        var state = module.state_dict();
        var plan = Plan(checkpoint, state, options);

        using (no_grad())
        {
            foreach (var (checkpointKey, moduleKey) in plan.Pairs)
                checkpoint.ReadInto(checkpointKey, state[moduleKey]);
        }
        long bytes = plan.Pairs.Sum(p => checkpoint.GetEntry(p.CheckpointKey).ByteLength);
        return new StateDictLoadReport(plan.Pairs.Select(p => p.ModuleKey).ToList(), plan.Fresh, plan.Ignored, plan.AddedPrefix, plan.RemovedPrefix, bytes);
    }

    sealed record LoadPlan(List<(string CheckpointKey, string ModuleKey)> Pairs, List<string> Fresh, List<string> Ignored, string? AddedPrefix, string? RemovedPrefix);

    /// <summary>Matches keys and checks every pair, throwing one exception for all problems found.</summary>
    static LoadPlan Plan(SafeTensorsCheckpoint checkpoint, Dictionary<string, Tensor> state, StateDictLoadOptions options)
    {
        var ignored = new List<string>();
        var mapped = new List<(string Stored, string Mapped)>();
        foreach (string key in checkpoint.Keys)
        {
            if ((options.KeyMapper is null ? key : options.KeyMapper(key)) is string name) mapped.Add((key, name));
            else ignored.Add(key);
        }

        var moduleKeys = new HashSet<string>(state.Keys, StringComparer.Ordinal);
        var (add, remove) = options.DetectPrefix
            ? KeyPrefixDetector.Detect(mapped.Select(m => m.Mapped).ToList(), moduleKeys)
            : (null, null);

        var problems = new List<(string File, string Key, string Text)>();
        var pairs = new List<(string, string)>();
        var claimed = new Dictionary<string, string>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        foreach (var (stored, name) in mapped)
        {
            string moduleKey = KeyPrefixDetector.Apply(name, add, remove);
            if (!moduleKeys.Contains(moduleKey))
            {
                if (HasPrefix(stored, options.IgnoreUnexpected) || HasPrefix(name, options.IgnoreUnexpected) || !options.Strict) ignored.Add(stored);
                else unexpected.Add(stored);
                continue;
            }
            string file = checkpoint.FileOf(stored).FilePath;
            if (!claimed.TryAdd(moduleKey, stored))
            {
                problems.Add((file, stored, $"maps to module key '{moduleKey}', as does '{claimed[moduleKey]}'"));
                continue;
            }
            if (SafeTensorsFile.Incompatibility(checkpoint.GetEntry(stored), state[moduleKey]) is string problem)
                problems.Add((file, stored, stored == moduleKey ? problem : $"(module key '{moduleKey}') {problem}"));
            pairs.Add((stored, moduleKey));
        }

        var fresh = new List<string>();
        var missing = new List<string>();
        foreach (string key in state.Keys.Where(k => !claimed.ContainsKey(k)))
            (HasPrefix(key, options.AllowMissing) || !options.Strict ? fresh : missing).Add(key);

        if (missing.Count > 0 || unexpected.Count > 0 || problems.Count > 0)
            throw Failure(checkpoint.Location, missing, unexpected, problems, add, remove);
        return new LoadPlan(pairs, fresh, ignored, add, remove);
    }

    static bool HasPrefix(string key, IReadOnlyList<string> prefixes) => prefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));

    static CheckpointException Failure(string location, List<string> missing, List<string> unexpected,
                                       List<(string File, string Key, string Text)> problems, string? add, string? remove)
    {
        var message = new StringBuilder($"Checkpoint {location} does not fit the module:");
        if (missing.Count > 0)
            message.Append($"\n  missing keys ({missing.Count}), in the module but not the checkpoint: ").Append(string.Join(", ", missing));
        if (unexpected.Count > 0)
            message.Append($"\n  unexpected keys ({unexpected.Count}), in the checkpoint but not the module: ").Append(string.Join(", ", unexpected));
        foreach (var (file, key, text) in problems)
            message.Append($"\n  {file}: tensor '{key}': {text}");
        if (add is not null) message.Append($"\n  (the prefix '{add}' was added to every checkpoint key)");
        if (remove is not null) message.Append($"\n  (the prefix '{remove}' was removed from checkpoint keys)");

        // A single tensor-level problem names its file and key; otherwise the checkpoint and the first key concerned.
        string filePath = problems.Count == 1 && missing.Count == 0 && unexpected.Count == 0 ? problems[0].File : location;
        string? firstKey = problems.Count > 0 ? problems[0].Key : missing.Concat(unexpected).FirstOrDefault();
        return new CheckpointException(message.ToString(), filePath, firstKey) { MissingKeys = missing, UnexpectedKeys = unexpected };
    }
}
