namespace Microsoft.ML.Peft.Tests.Build;

/// <summary>The repository's location, for tests that run its build.</summary>
internal static class RepoPaths
{
    /// <summary>The folder holding Peft.sln, found by walking up from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Peft.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Peft.sln not found above " + AppContext.BaseDirectory);
    }
}
