using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Checkpoints;

public sealed partial class SafeTensorsCheckpoint
{
    /// <summary>
    /// Saves <paramref name="tensors"/> to <paramref name="folder"/> as <c>model.safetensors</c>, or, when they
    /// exceed <paramref name="maxShardBytes"/>, as Hugging Face shards <c>model-00001-of-0000N.safetensors</c>
    /// plus <c>model.safetensors.index.json</c>. Tensors keep their order; a tensor larger than the limit gets
    /// a shard of its own. All files are written under temporary names and moved into place only when every
    /// one succeeded, so a failed save leaves no new file behind; the other layout's stale files are removed
    /// after a successful save so the folder never holds two checkpoints.
    /// </summary>
    /// <param name="folder">The folder; created when missing.</param>
    /// <param name="tensors">Name and tensor pairs; names must be unique.</param>
    /// <param name="maxShardBytes">Largest shard in bytes of tensor data, or null for a single file.</param>
    /// <param name="metadata">Metadata written into every file (<c>format: pt</c> is added).</param>
    public static void Save(string folder, IEnumerable<KeyValuePair<string, Tensor>> tensors, long? maxShardBytes = null,
                            IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (maxShardBytes is <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), "The shard size must be positive.");
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in list)
        {
            if (!names.Add(name))
                throw new ArgumentException($"Tensor name '{name}' appears twice; checkpoint names must be unique.", nameof(tensors));
            SafeTensorsDType.NameOf(tensor.dtype); // fails before anything is written
        }

        var shards = PlanShards(list, maxShardBytes);
        Directory.CreateDirectory(folder);
        var previousIndex = TryLoadIndex(Path.Combine(folder, SafeTensorsIndex.FileName));
        var finalNames = shards.Count == 1
            ? new List<string> { SingleFileName }
            : Enumerable.Range(1, shards.Count).Select(i => $"model-{i:D5}-of-{shards.Count:D5}.safetensors").ToList();

        var temporaries = new List<string>();
        try
        {
            for (int i = 0; i < shards.Count; i++)
            {
                string temp = Path.Combine(folder, finalNames[i] + ".partial-" + Guid.NewGuid().ToString("N")[..8]);
                temporaries.Add(temp);
                SafeTensorsWriter.Write(temp, shards[i], metadata);
            }
        }
        catch
        {
            foreach (string temp in temporaries) File.Delete(temp);
            throw;
        }

        for (int i = 0; i < shards.Count; i++) File.Move(temporaries[i], Path.Combine(folder, finalNames[i]), overwrite: true);

        if (shards.Count == 1)
        {
            RemoveStaleShards(folder, previousIndex, keep: finalNames);
            File.Delete(Path.Combine(folder, SafeTensorsIndex.FileName));
            return;
        }
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
            foreach (var (name, _) in shards[i]) weightMap[name] = finalNames[i];
        long total = list.Sum(p => ByteSize(p.Value));
        new SafeTensorsIndex(weightMap, total).Save(Path.Combine(folder, SafeTensorsIndex.FileName));
        RemoveStaleShards(folder, previousIndex, keep: finalNames);
        // A model.safetensors next to the index would win on open (as in Hugging Face), hiding the new shards.
        File.Delete(Path.Combine(folder, SingleFileName));
    }

    static long ByteSize(Tensor tensor) => tensor.NumberOfElements * tensor.ElementSize;

    /// <summary>Greedy, order-preserving packing: a shard is closed when the next tensor would overflow it.</summary>
    static List<List<KeyValuePair<string, Tensor>>> PlanShards(List<KeyValuePair<string, Tensor>> tensors, long? maxShardBytes)
    {
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long current = 0;
        foreach (var pair in tensors)
        {
            long size = ByteSize(pair.Value);
            if (maxShardBytes is long max && current > 0 && current + size > max)
            {
                shards.Add(new());
                current = 0;
            }
            shards[^1].Add(pair);
            current += size;
        }
        return shards;
    }

    static SafeTensorsIndex? TryLoadIndex(string path)
    {
        try
        {
            return File.Exists(path) ? SafeTensorsIndex.Load(path) : null;
        }
        catch (CheckpointException)
        {
            return null; // an unreadable old index is about to be replaced or removed anyway
        }
    }

    static void RemoveStaleShards(string folder, SafeTensorsIndex? previous, IReadOnlyCollection<string> keep)
    {
        if (previous is null) return;
        foreach (string shard in previous.ShardFiles.Except(keep))
            File.Delete(Path.Combine(folder, shard));
    }
}
