using System.Diagnostics;
using Microsoft.ML.Peft.Tests.Build;

namespace Microsoft.ML.Peft.Tests.MLNet;

/// <summary>
/// Runs tests/Microsoft.ML.Peft.ModelProbe: a separate process that loads a model zip with a fresh MLContext,
/// the way a user's app would, and prints its scores. Built once per test run, in this run's configuration.
/// </summary>
internal static class ModelProbe
{
    static readonly Lazy<string> Dll = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Runs the probe on <paramref name="modelPath"/> and <paramref name="texts"/>; returns exit code, stdout and stderr.</summary>
    public static (int ExitCode, string Output, string Error) Run(string modelPath, IEnumerable<string> texts)
    {
        string input = Path.Combine(Path.GetDirectoryName(modelPath)!, "probe-input.txt");
        File.WriteAllLines(input, texts);
        return Dotnet($"\"{Dll.Value}\" \"{modelPath}\" \"{input}\"", TimeSpan.FromMinutes(2));
    }

    /// <summary>
    /// Runs the probe's generator mode: loads <paramref name="modelPath"/>, generates for <paramref name="prompts"/> given
    /// as column <paramref name="column"/>, and evaluates perplexity on <paramref name="texts"/>.
    /// </summary>
    /// <returns>Exit code, the generated texts and the perplexity (null when the probe failed), and stderr.</returns>
    public static (int ExitCode, IReadOnlyList<string> Generated, double? Perplexity, string Error) RunGenerator(
        string modelPath, string column, IEnumerable<string> prompts, IEnumerable<string> texts)
    {
        string folder = Path.GetDirectoryName(modelPath)!;
        string promptFile = Path.Combine(folder, "probe-prompts.jsonl"), textFile = Path.Combine(folder, "probe-texts.jsonl");
        File.WriteAllLines(promptFile, prompts.Select(p => System.Text.Json.JsonSerializer.Serialize(p)));
        File.WriteAllLines(textFile, texts.Select(t => System.Text.Json.JsonSerializer.Serialize(t)));
        var (code, output, error) = Dotnet($"\"{Dll.Value}\" generate \"{modelPath}\" {column} \"{promptFile}\" \"{textFile}\"", TimeSpan.FromMinutes(2));
        if (code != 0) return (code, Array.Empty<string>(), null, error + output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        var generated = lines.TakeWhile(l => !l.StartsWith("perplexity\t", StringComparison.Ordinal))
                             .Select(l => System.Text.Json.JsonSerializer.Deserialize<string>(l)!).ToList();
        string? last = lines.LastOrDefault(l => l.StartsWith("perplexity\t", StringComparison.Ordinal));
        double? perplexity = last is null ? null : double.Parse(last["perplexity\t".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return (code, generated, perplexity, error);
    }

    static string Build()
    {
        // The test binaries live in .../bin/<Configuration>/<tfm>/: build the probe the same way.
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        string project = Path.Combine(RepoPaths.Root, "tests", "Microsoft.ML.Peft.ModelProbe", "Microsoft.ML.Peft.ModelProbe.csproj");
        // --no-dependencies: the library is already built (this test assembly references it); rebuilding it from
        // inside a running test run could race with the outer build.
        var (code, output, error) = Dotnet($"build \"{project}\" -c {configuration} --no-dependencies -nodeReuse:false --nologo -v q", TimeSpan.FromMinutes(5));
        Assert.True(code == 0, $"Building the model probe failed:\n{output}\n{error}");
        string dll = Path.Combine(Path.GetDirectoryName(project)!, "bin", configuration, "net10.0", "Microsoft.ML.Peft.ModelProbe.dll");
        Assert.True(File.Exists(dll), $"The model probe built, but {dll} is missing.");
        return dll;
    }

    static (int, string, string) Dotnet(string arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("dotnet", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {arguments} did not finish within {timeout}.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
