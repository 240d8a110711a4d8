namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>A uniquely named temporary folder, deleted (best effort) on dispose.</summary>
internal sealed class ScratchFolder : IDisposable
{
    public ScratchFolder(string purpose)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "microsoft-ml-peft", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { } // a scanner or another reader holding a file must not fail the caller; temp is cleaned later
        catch (UnauthorizedAccessException) { }
    }
}
