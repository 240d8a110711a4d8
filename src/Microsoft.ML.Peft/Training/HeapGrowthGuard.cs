namespace Microsoft.ML.Peft.Training;

/// <summary>
/// Keeps resident memory flat during training without giving memory back on every free: at each step boundary it
/// compares the resident set with the working set and trims the heap (<see cref="NativeHeap.Trim"/>) once the
/// difference is freed memory that later steps did not reuse.
/// </summary>
/// <remarks>
/// The working set is the largest resident size at the end of the first <see cref="WarmupSteps"/> steps, and afterwards
/// the resident size at the end of a step that followed a trim: that step faulted in what it needed, nothing more. A
/// trim is due when the resident size exceeds the working set by <see cref="Tolerance"/> (at least
/// <see cref="MinimumSlackMb"/>). A workload whose tensors have the same shapes every step trims rarely if ever (at most
/// once in train-throughput's 12 steps); one with varying shapes trims now and then (the Generation sample: 4-6 times in
/// 174 steps); and one whose working set grows (longer batches later on) raises the limit at its next calibration
/// instead of trimming every step.
/// </remarks>
internal sealed class HeapGrowthGuard
{
    /// <summary>
    /// Growth over the working set, as a fraction of it, that triggers a trim. 1/16 also trimmed runs with fixed shapes
    /// once or twice in their first 12 steps (train-throughput), whose heap still settles a little after warm-up.
    /// </summary>
    public const double Tolerance = 1.0 / 8;

    /// <summary>Growth below this many MiB never triggers a trim (small processes fluctuate by a few MiB).</summary>
    public const double MinimumSlackMb = 32;

    /// <summary>
    /// Steps that only calibrate the working set, never trim: optimizer state and kernel caches appear in the first steps.
    /// Longer would let a fragmenting workload grow unguarded meanwhile (with 10, the Generation sample peaked 100 MiB
    /// higher); a working set that still grows afterwards costs one trim and raises the limit.
    /// </summary>
    public const int WarmupSteps = 3;

    readonly Func<double> _residentMb;
    readonly Func<bool> _trim;
    double _limitMb;
    bool _calibrate;  // the step after a trim
    int _steps;

    /// <summary>Watches this process's resident memory and trims its glibc heap.</summary>
    public HeapGrowthGuard() : this(() => MemoryReport.ReadProcess().ResidentMb, NativeHeap.Trim) { }

    /// <summary>Test seam: <paramref name="residentMb"/> reads the resident size, <paramref name="trim"/> trims.</summary>
    internal HeapGrowthGuard(Func<double> residentMb, Func<bool> trim) => (_residentMb, _trim) = (residentMb, trim);

    /// <summary>Trims made so far.</summary>
    public int Trims { get; private set; }

    /// <summary>The resident size (MiB) above which the next step boundary trims; 0 before the first step.</summary>
    public double LimitMb => _limitMb;

    /// <summary>Call at every optimizer-step boundary.</summary>
    public void AfterStep()
    {
        double resident = _residentMb();
        bool warmingUp = _steps++ < WarmupSteps;
        if (warmingUp || _calibrate)
        {
            // After a trim the limit only rises: a working set that shrank would otherwise make the next steps trim again.
            double limit = resident + Math.Max(resident * Tolerance, MinimumSlackMb);
            _limitMb = Math.Max(_limitMb, limit);
            _calibrate = false;
            return;
        }
        if (resident <= _limitMb) return;
        _trim();
        Trims++;
        _calibrate = true;
    }
}
