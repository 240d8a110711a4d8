namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Times contenders in rounds, each round running every contender once, so that a load change on a shared
/// machine hits all of them alike. The order alternates (A B C, C B A, A B C, ...) so no contender always runs
/// right after the same neighbour (e.g. after one that leaves the caches cold).
/// </summary>
static class InterleavedRounds
{
    /// <summary>
    /// Runs <paramref name="warmup"/> unrecorded rounds, then <paramref name="rounds"/> recorded ones. Each contender
    /// returns the seconds to count for its run (so it may leave set-up out of its own measurement).
    /// </summary>
    /// <returns>Per contender name, the seconds of each recorded round, in round order.</returns>
    public static Dictionary<string, List<double>> Measure(IReadOnlyList<(string Name, Func<double> Run)> contenders, int warmup, int rounds)
    {
        var seconds = contenders.ToDictionary(c => c.Name, _ => new List<double>());
        for (int round = 0; round < warmup + rounds; round++)
        {
            Console.Error.Write($"  round {round + 1}/{warmup + rounds}{(round < warmup ? " (warm-up)" : "")}\n");
            var order = round % 2 == 0 ? contenders : contenders.Reverse().ToList();
            foreach (var (name, run) in order)
            {
                double s = run();
                if (round >= warmup) seconds[name].Add(s);
            }
        }
        return seconds;
    }

    /// <summary>The median; the mean of the two middle values for an even count.</summary>
    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("No values.", nameof(values));
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
