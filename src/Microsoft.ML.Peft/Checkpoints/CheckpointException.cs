namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>
/// A checkpoint could not be read or does not fit the model it is loaded into. The message names the
/// problem, the file and the tensor; <see cref="FilePath"/> and <see cref="Key"/> carry them for code.
/// </summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full message; callers put the file and key in it.</param>
    /// <param name="filePath">The checkpoint file or folder concerned, when known.</param>
    /// <param name="key">The tensor name concerned, when the problem is about one tensor.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public CheckpointException(string message, string? filePath = null, string? key = null, Exception? inner = null)
        : base(message, inner)
    {
        FilePath = filePath;
        Key = key;
    }

    /// <summary>The checkpoint file (or folder, for problems with the whole checkpoint) concerned.</summary>
    public string? FilePath { get; }

    /// <summary>The tensor name concerned; for a list of problems, the first one's.</summary>
    public string? Key { get; }

    /// <summary>Module keys the checkpoint did not provide (strict state-dict loading).</summary>
    public IReadOnlyList<string> MissingKeys { get; init; } = Array.Empty<string>();

    /// <summary>Checkpoint keys the module has no place for (strict state-dict loading).</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; init; } = Array.Empty<string>();

    /// <summary>Builds the exception for one tensor of one file, with a uniform "file: tensor 'key': problem" message.</summary>
    internal static CheckpointException ForKey(string filePath, string key, string problem, Exception? inner = null)
        => new($"{filePath}: tensor '{key}': {problem}", filePath, key, inner);

    /// <summary>Builds the exception for a whole file (header, layout, missing file).</summary>
    internal static CheckpointException ForFile(string filePath, string problem, Exception? inner = null)
        => new($"{filePath}: {problem}", filePath, null, inner);
}
