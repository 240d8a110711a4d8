using System.Reflection;

namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>Reads resources of package assemblies that the test project fetches with PackageDownload.</summary>
internal static class NuGetPackages
{
    public static string Root
    {
        get
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
            return string.IsNullOrWhiteSpace(fromEnvironment)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages")
                : fromEnvironment;
        }
    }

    /// <summary>Opens the manifest resource whose name ends with <paramref name="suffix"/> in a package's DLL.</summary>
    public static Stream OpenResource(string packageId, string version, string relativeDll, string suffix)
    {
        string dll = Path.Combine(Root, packageId.ToLowerInvariant(), version, relativeDll);
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Package assembly not found: {dll} (restore the test project so that PackageDownload fetches {packageId} {version}).", dll);
        }

        // Loaded only to read its resources; none of its code runs.
        Assembly assembly = Assembly.LoadFile(dll);
        string name = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith(suffix, StringComparison.Ordinal))
            ?? throw new InvalidDataException($"{dll} has no resource ending with '{suffix}'; it has: {string.Join(", ", assembly.GetManifestResourceNames())}");
        return assembly.GetManifestResourceStream(name)!;
    }

    public static string NewTempFolder(string prefix)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        return folder;
    }
}
