using System.Globalization;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>Command-line and machine facts shared by the benchmarks.</summary>
static class BenchmarkArguments
{
    /// <summary>
    /// Parses integer options given as <c>--name N</c>. Every option a benchmark accepts is listed with its default
    /// and minimum; an unknown option, a missing value or a value below its minimum is an error naming it.
    /// </summary>
    public static IReadOnlyDictionary<string, int> Ints(string[] args, params (string Name, int Default, int Min)[] options)
    {
        var values = options.ToDictionary(o => o.Name, o => o.Default);
        string usage = string.Join(", ", options.Select(o => $"--{o.Name} N"));
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : args[i];
            if (!values.ContainsKey(name)) throw new ArgumentException($"Unknown option {args[i]}; use {usage}.");
            if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value.");
            values[name] = int.Parse(args[++i], CultureInfo.InvariantCulture);
        }
        foreach (var (name, _, min) in options)
            if (values[name] < min) throw new ArgumentException($"--{name} must be at least {min}, not {values[name]}.");
        return values;
    }

    /// <summary>The 1-minute load average (Linux), to show in a result how much the cores were shared.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
}
