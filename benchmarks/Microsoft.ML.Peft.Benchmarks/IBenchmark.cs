namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>One named benchmark, run as <c>dotnet run -c Release -- NAME [args]</c>.</summary>
public interface IBenchmark
{
    /// <summary>The name given on the command line.</summary>
    string Name { get; }

    /// <summary>One line saying what it measures, for the list of benchmarks.</summary>
    string Description { get; }

    /// <summary>Runs the benchmark with the arguments after its name.</summary>
    void Run(string[] args);
}
