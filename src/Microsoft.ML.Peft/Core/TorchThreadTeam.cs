using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Peft.Core;

/// <summary>
/// Runs the iterations of a loop on libtorch's own OpenMP threads, for the C# kernels that sit between libtorch's
/// operations (softmax-dropout, dropout masks).
/// </summary>
/// <remarks>
/// After each parallel operation libtorch's OpenMP workers spin for several milliseconds waiting for the next one. A
/// kernel that runs on .NET's thread pool in that time shares its cores with those spinning workers: the attention
/// softmax-dropout took 4.5-5.2 ms right after a matmul and 3.1-3.6 ms after an idle spell (bf16, 16 × 12 × 128 × 128,
/// 2 cores). Handing the iterations to the same workers (libgomp's <c>GOMP_parallel</c>, with a function pointer into
/// managed code) uses the threads that are already awake instead of competing with them. Where libtorch's OpenMP
/// runtime is not libgomp, or cannot be found, the loop runs on .NET's thread pool as before.
/// </remarks>
internal static unsafe class TorchThreadTeam
{
    static readonly delegate* unmanaged<delegate* unmanaged<IntPtr, void>, IntPtr, uint, uint, void> GompParallel = Resolve();

    /// <summary>Whether loops run on libtorch's OpenMP threads (false: on .NET's thread pool).</summary>
    public static bool UsesTorchThreads => GompParallel != null && Enabled;

    /// <summary>Settable so that a comparison can run the same kernels on .NET's thread pool.</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>
    /// Calls <paramref name="body"/> once for each index in [0, <paramref name="count"/>), in parallel, and returns when all
    /// have run; indices are handed out one at a time, so uneven iterations balance. The first exception is rethrown.
    /// </summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        int threads = TorchSharp.torch.get_num_threads();
        if (!UsesTorchThreads || count == 1 || threads <= 1)
        {
            Parallel.For(0, count, body);
            return;
        }
        var loop = new Loop(count, body);
        var handle = GCHandle.Alloc(loop);
        try
        {
            GompParallel(&RunIterations, GCHandle.ToIntPtr(handle), (uint)Math.Min(threads, count), 0);
        }
        finally
        {
            handle.Free();
        }
        if (loop.Failure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>What every thread of the team runs: take the next index until none is left (or one has failed).</summary>
    [UnmanagedCallersOnly]
    static void RunIterations(IntPtr state)
    {
        var loop = (Loop)GCHandle.FromIntPtr(state).Target!;
        try
        {
            for (int i = loop.Take(); i < loop.Count && loop.Failure is null; i = loop.Take()) loop.Body(i);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref loop.Failure, e, null);
        }
    }

    sealed class Loop(int count, Action<int> body)
    {
        int next = -1;
        public Exception? Failure;
        public int Count { get; } = count;
        public Action<int> Body { get; } = body;
        public int Take() => Interlocked.Increment(ref next);
    }

    /// <summary>
    /// libgomp's <c>GOMP_parallel(fn, data, num_threads, flags)</c> from the copy libtorch loaded (its file name carries a
    /// hash, so it is found among the process's modules once libtorch is up); null where there is none.
    /// </summary>
    static delegate* unmanaged<delegate* unmanaged<IntPtr, void>, IntPtr, uint, uint, void> Resolve()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            TorchSharp.torch.get_num_threads();  // loads libtorch, and with it its OpenMP runtime
            foreach (ProcessModule module in Process.GetCurrentProcess().Modules)
                if (module.ModuleName.StartsWith("libgomp", StringComparison.Ordinal) &&
                    NativeLibrary.TryLoad(module.FileName, out var library) &&
                    NativeLibrary.TryGetExport(library, "GOMP_parallel", out var parallel))
                    return (delegate* unmanaged<delegate* unmanaged<IntPtr, void>, IntPtr, uint, uint, void>)parallel;
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            // No module list (a restricted process): .NET's thread pool it is.
        }
        return null;
    }
}
