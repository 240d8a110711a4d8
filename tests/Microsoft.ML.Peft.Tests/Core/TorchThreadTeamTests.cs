using System.Collections.Concurrent;
using Microsoft.ML.Peft.Core;

namespace Microsoft.ML.Peft.Tests.Core;

/// <summary>Loops handed to libtorch's OpenMP threads: every index once, on those threads, failures surfaced.</summary>
public sealed class TorchThreadTeamTests
{
    [Fact]
    public void On_linux_the_iterations_run_once_each_on_libtorchs_openmp_threads()
    {
        Assert.Equal(OperatingSystem.IsLinux(), TorchThreadTeam.UsesTorchThreads);
        var runs = new int[1000];
        var helpers = new ConcurrentBag<Thread>();  // the threads other than the caller (OpenMP's thread 0) that ran iterations
        var caller = Thread.CurrentThread;
        TorchThreadTeam.For(runs.Length, i =>
        {
            Interlocked.Increment(ref runs[i]);
            if (Thread.CurrentThread != caller) helpers.Add(Thread.CurrentThread);
            Thread.SpinWait(100);
        });

        Assert.All(runs, count => Assert.Equal(1, count));
        // OpenMP's workers are native threads that .NET attaches when they first call in, never thread-pool threads.
        if (TorchThreadTeam.UsesTorchThreads) Assert.DoesNotContain(helpers, thread => thread.IsThreadPoolThread);
    }

    [Fact]
    public void A_failing_iteration_is_rethrown_as_itself_and_stops_the_loop_early()
    {
        int ran = 0;
        var error = Assert.Throws<InvalidOperationException>(() => TorchThreadTeam.For(10_000, i =>
        {
            Interlocked.Increment(ref ran);
            if (i == 3) throw new InvalidOperationException("iteration 3 failed");
            Thread.SpinWait(1000);
        }));

        Assert.Equal("iteration 3 failed", error.Message);
        Assert.True(ran < 10_000, $"{ran} iterations ran after the failure");
    }

    [Fact]
    public void An_empty_loop_runs_nothing_and_a_single_iteration_runs_once()
    {
        int calls = 0;
        TorchThreadTeam.For(0, _ => calls++);
        Assert.Equal(0, calls);
        TorchThreadTeam.For(1, _ => calls++);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void Loops_started_from_several_threads_at_once_or_nested_in_a_loop_each_run_every_index_once()
    {
        // Each calling thread gets a team of its own, and a loop inside an iteration runs on that iteration's thread
        // (OpenMP's nested regions are inactive): neither may deadlock or lose an index.
        var outer = new int[4][];
        System.Threading.Tasks.Parallel.For(0, outer.Length, caller =>
        {
            var runs = outer[caller] = new int[500];
            TorchThreadTeam.For(runs.Length, i => Interlocked.Increment(ref runs[i]));
        });
        var nested = new int[8 * 64];
        TorchThreadTeam.For(8, i => TorchThreadTeam.For(64, j => Interlocked.Increment(ref nested[i * 64 + j])));

        Assert.All(outer.SelectMany(runs => runs).Concat(nested), count => Assert.Equal(1, count));
    }
}
