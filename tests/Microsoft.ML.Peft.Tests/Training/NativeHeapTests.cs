using Microsoft.ML.Peft.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Training;

/// <summary>The heap policy of training (<see cref="NativeHeap"/>), the guard that trims it (<see cref="HeapGrowthGuard"/>) and the collections at step boundaries.</summary>
[Collection(TrainingCollection.Name)]
public class NativeHeapTests
{
    [Fact]
    public void Heap_is_managed_on_the_glibc_linux_ci_machine_and_training_policies_nest()
    {
        Assert.True(OperatingSystem.IsLinux(), "this test describes the Linux CI machine");
        Assert.True(NativeHeap.IsManaged);
        using (var outer = NativeHeap.EnterTraining())
        {
            Assert.NotNull(outer);
            using var inner = NativeHeap.EnterTraining();
            Assert.NotNull(inner);
        }
        Assert.True(NativeHeap.PinMmapThreshold());  // compact policy again once every run is out
    }

    [Fact]
    public void Freed_tensors_leave_the_process_when_trimmed()
    {
        using var policy = NativeHeap.EnterTraining();
        long before = Resident();
        using (var scope = NewDisposeScope())
        {
            // 64 blocks of 4 MiB: below the training mmap threshold, so they come from the heap and stay resident when freed.
            var blocks = Enumerable.Range(0, 64).Select(_ => ones(1 << 20)).ToList();
            Assert.True(Resident() - before > 200L << 20, "the blocks should be resident while alive");
        }
        long afterFree = Resident();
        NativeHeap.Trim();
        long afterTrim = Resident();
        Assert.True(afterFree - afterTrim > 200L << 20, $"trim released {(afterFree - afterTrim) >> 20} MiB of 256");
    }

    [Fact]
    public void Guard_never_trims_a_steady_working_set()
    {
        int trims = 0;
        var guard = new HeapGrowthGuard(() => 800, () => { trims++; return true; });
        for (int i = 0; i < 100; i++) guard.AfterStep();
        Assert.Equal(0, trims);
        Assert.Equal(900, guard.LimitMb);  // 800 + 800 / 8
    }

    [Fact]
    public void Guard_trims_unreused_growth_and_keeps_its_limit()
    {
        // Resident memory climbs 10 MiB a step and falls back to the working set after each trim.
        double resident = 800;
        var guard = new HeapGrowthGuard(() => resident, () => { resident = 800; return true; });
        var seen = new List<double>();
        for (int i = 0; i < 100; i++)
        {
            guard.AfterStep();
            seen.Add(resident);
            resident += 10;
        }
        // Calibrated over the 3 warm-up steps (800, 810, 820 MiB): limit 820 + 820 / 8, then a trim every 12 steps.
        Assert.Equal(820 + 820 / 8.0, guard.LimitMb);
        Assert.InRange(guard.Trims, 7, 9);
        Assert.True(seen.Max() <= guard.LimitMb, $"resident memory reached {seen.Max()} MiB");
    }

    [Fact]
    public void Guard_does_not_trim_while_the_first_steps_settle()
    {
        // The first step leaves less resident than the next ones (optimizer state and kernel caches come later).
        int step = 0;
        var guard = new HeapGrowthGuard(() => step == 0 ? 800 : 900, () => true);
        for (; step < 50; step++) guard.AfterStep();
        Assert.Equal(0, guard.Trims);
        Assert.Equal(900 + 900 / 8.0, guard.LimitMb);
    }

    [Fact]
    public void Guard_raises_its_limit_when_the_working_set_grows()
    {
        // Batches get longer at step 20: the working set doubles and stays there, so one trim recalibrates the limit.
        int step = 0;
        var guard = new HeapGrowthGuard(() => step < 20 ? 800 : 1600, () => true);
        for (; step < 100; step++) guard.AfterStep();
        Assert.Equal(1, guard.Trims);
        Assert.Equal(1800, guard.LimitMb);
    }

    static long Resident() => (long)(MemoryReport.Current().ResidentMb * (1 << 20));

    [Fact]
    public void Fit_collects_the_young_generations_at_step_boundaries_50_ms_apart_when_it_manages_memory()
    {
        using var toy = new ToyTask();
        // Steps longer than the minimum interval, as every step of a real model is: each boundary collects.
        var trainer = new Trainer<(Tensor X, Tensor Y)>(new TrainingOptions { BatchSize = 8, Epochs = 1 }, toy.Model.named_parameters(),
            b => { Thread.Sleep(WrapperCollection.MinimumIntervalMs + 10); return toy.Loss(b); });
        int before = GC.CollectionCount(1);
        var result = trainer.Fit(e => toy.Batches(e, 8), 8);
        Assert.True(GC.CollectionCount(1) - before >= result.History.Steps.Count,
            $"{GC.CollectionCount(1) - before} generation-1 collections for {result.History.Steps.Count} steps");
    }
}
