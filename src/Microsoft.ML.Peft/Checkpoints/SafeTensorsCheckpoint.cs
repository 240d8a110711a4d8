using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>
/// A safetensors checkpoint as Hugging Face stores it: one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>. Both look the same here: one set of keys, any tensor readable by name.
/// Every file is opened (header only) and checked when the checkpoint is opened.
/// </summary>
public sealed partial class SafeTensorsCheckpoint : IDisposable
{
    /// <summary>The file name of an unsharded checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";

    readonly Dictionary<string, SafeTensorsFile> _fileOfKey;
    readonly List<SafeTensorsFile> _files;

    SafeTensorsCheckpoint(string location, List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> fileOfKey, SafeTensorsIndex? index)
    {
        Location = location;
        _files = files;
        _fileOfKey = fileOfKey;
        Index = index;
        Keys = fileOfKey.Keys.ToList();
    }

    /// <summary>What was opened: the folder, the index file or the <c>.safetensors</c> file.</summary>
    public string Location { get; }

    /// <summary>The index of a sharded checkpoint; null for a single file.</summary>
    public SafeTensorsIndex? Index { get; }

    /// <summary>The open files: one, or every shard.</summary>
    public IReadOnlyList<SafeTensorsFile> Files => _files;

    /// <summary>Every tensor name, in file order (shard by shard).</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>The metadata of the (first) file, e.g. <c>format: pt</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _files.Count > 0 ? _files[0].Metadata : new Dictionary<string, string>();

    /// <summary>
    /// Opens a checkpoint. <paramref name="path"/> may be a folder (holding <c>model.safetensors</c>, which wins
    /// as in Hugging Face, or <c>model.safetensors.index.json</c>), an index file, or a <c>.safetensors</c> file.
    /// </summary>
    /// <exception cref="CheckpointException">No checkpoint there, a shard is missing, a key's shard lacks it, or a file is invalid.</exception>
    public static SafeTensorsCheckpoint Open(string path)
    {
        if (Directory.Exists(path))
        {
            string single = Path.Combine(path, SingleFileName);
            string index = Path.Combine(path, SafeTensorsIndex.FileName);
            if (File.Exists(single)) return OpenSingle(single);
            if (File.Exists(index)) return OpenSharded(index);
            throw CheckpointException.ForFile(path, $"no {SingleFileName} or {SafeTensorsIndex.FileName} in the folder");
        }
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenSharded(path) : OpenSingle(path);
    }

    static SafeTensorsCheckpoint OpenSingle(string file)
    {
        var opened = SafeTensorsFile.Open(file);
        return new SafeTensorsCheckpoint(file, [opened], opened.Keys.ToDictionary(k => k, _ => opened, StringComparer.Ordinal), null);
    }

    static SafeTensorsCheckpoint OpenSharded(string indexPath)
    {
        var index = SafeTensorsIndex.Load(indexPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var shards = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (string shard in index.ShardFiles)
            {
                string shardPath = Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                {
                    string firstKey = index.WeightMap.First(p => p.Value == shard).Key;
                    throw new CheckpointException(
                        $"{indexPath}: missing shard file '{shardPath}' (it should hold tensor '{firstKey}' and others)", shardPath, firstKey);
                }
                shards[shard] = SafeTensorsFile.Open(shardPath);
            }

            // Keys in file order, so that loading reads each shard front to back.
            var fileOfKey = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach (var (key, shard) in index.WeightMap.OrderBy(p => p.Value, StringComparer.Ordinal).ThenBy(p => shards[p.Value].GetEntryOrNull(p.Key)?.DataBegin ?? -1))
            {
                var file = shards[shard];
                if (!file.Contains(key))
                    throw CheckpointException.ForKey(file.FilePath, key, $"the index {indexPath} maps the tensor to this shard, which does not hold it");
                fileOfKey[key] = file;
            }
            return new SafeTensorsCheckpoint(indexPath, shards.Values.ToList(), fileOfKey, index);
        }
        catch
        {
            foreach (var file in shards.Values) file.Dispose();
            throw;
        }
    }

    /// <summary>Whether the checkpoint holds <paramref name="key"/>.</summary>
    public bool Contains(string key) => _fileOfKey.ContainsKey(key);

    /// <summary>The file that holds <paramref name="key"/>.</summary>
    /// <exception cref="CheckpointException">No such tensor.</exception>
    public SafeTensorsFile FileOf(string key)
        => _fileOfKey.TryGetValue(key, out var file) ? file
           : throw CheckpointException.ForKey(Location, key, "no such tensor in the checkpoint");

    /// <summary>The header entry of <paramref name="key"/>.</summary>
    public SafeTensorsEntry GetEntry(string key) => FileOf(key).GetEntry(key);

    /// <summary>Reads <paramref name="key"/> into a new CPU tensor; see <see cref="SafeTensorsFile.ReadTensor"/>.</summary>
    public Tensor ReadTensor(string key) => FileOf(key).ReadTensor(key);

    /// <summary>Reads <paramref name="key"/> into <paramref name="destination"/>; see <see cref="SafeTensorsFile.ReadInto"/>.</summary>
    public void ReadInto(string key, Tensor destination) => FileOf(key).ReadInto(key, destination);

    /// <summary>Closes every file.</summary>
    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}
