using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// Trains two setups in turns, one step of each at a time, so that the i-th steps of the two ran back to back, within a
/// second or so of each other: their ratio is then free of the slow spells that make this shared machine's speed drift
/// 2-3x within minutes, which separate processes minutes apart are not.
/// </summary>
/// <remarks>
/// The second setup trains on a thread of its own; the two threads hand the turn to each other from the trainers'
/// progress reports, which come after a step's clock has stopped, so a step's time holds none of the other's work and
/// never overlaps it. Each thread drives its own OpenMP team for libtorch.
/// </remarks>
static class AlternatingSteps
{
    /// <summary>
    /// Builds both setups with the turn-taking progress (<paramref name="first"/> and <paramref name="second"/> receive
    /// it) and trains each for <paramref name="steps"/> steps, first, second, first, second, ...
    /// </summary>
    public static (TrainingResult First, TrainingResult Second) Fit(Func<IProgress<TrainingProgress>, TrainingSetup> first,
                                                                   Func<IProgress<TrainingProgress>, TrainingSetup> second, int steps)
    {
        using var firstTurn = new SemaphoreSlim(0);
        using var secondTurn = new SemaphoreSlim(0);
        // The first waits for the second's step after each of its own, its last included; the second, after its last, does not.
        var firstSetup = first(new HandOff(secondTurn, firstTurn, waitAfterLast: true));
        var secondSetup = second(new HandOff(firstTurn, secondTurn, waitAfterLast: false));

        TrainingResult? secondResult = null;
        Exception? secondFailure = null;
        var thread = new Thread(() =>
        {
            try
            {
                secondTurn.Wait();
                secondResult = secondSetup.Fit(steps);
            }
            catch (Exception e)
            {
                secondFailure = e;
                firstTurn.Release(steps + 1);  // the first may be waiting for steps that will not come
            }
        }) { IsBackground = true, Name = "second trainer" };
        thread.Start();
        var firstResult = firstSetup.Fit(steps);
        thread.Join();
        if (secondFailure is not null) throw new InvalidOperationException("The second trainer failed.", secondFailure);
        return (firstResult, secondResult!);
    }

    /// <summary>After each step: gives the turn to the other trainer and waits for it to be given back.</summary>
    sealed class HandOff(SemaphoreSlim other, SemaphoreSlim mine, bool waitAfterLast) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress progress)
        {
            other.Release();
            if (progress.Step < progress.TotalSteps || waitAfterLast) mine.Wait();
        }
    }
}
