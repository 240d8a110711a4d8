using Microsoft.ML.Peft.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Training;

/// <summary>
/// A tiny classification task for trainer tests: 8 features, a label that depends on two of them, and an MLP
/// with a LayerNorm (so there are biases and norm weights) and optional dropout (so RNG state matters).
/// </summary>
sealed class ToyTask : IDisposable
{
    public const int Features = 8;

    public ToyTask(int examples = 64, int seed = 7, double dropout = 0.0)
    {
        random.manual_seed(seed);
        Model = nn.Sequential(
            ("fc1", nn.Linear(Features, 16)),
            ("norm", nn.LayerNorm(16)),
            ("act", nn.ReLU()),
            ("drop", nn.Dropout(dropout)),
            ("head", nn.Linear(16, 2)));
        X = randn(examples, Features).DetachFromDisposeScope();
        Y = (X[.., 0] + X[.., 1] > 0).to(ScalarType.Int64).DetachFromDisposeScope();
        Examples = examples;
    }

    public Sequential Model { get; }
    public Tensor X { get; }
    public Tensor Y { get; }
    public int Examples { get; }

    public Tensor Loss((Tensor X, Tensor Y) batch) => nn.functional.cross_entropy(Model.forward(batch.X), batch.Y);

    /// <summary>The epoch's examples in shuffled order, <paramref name="batchSize"/> at a time (tensors made lazily, inside the step's scope).</summary>
    public IEnumerable<(Tensor X, Tensor Y)> Batches(TrainingEpoch epoch, int batchSize)
    {
        int[] order = epoch.Permutation(Examples);
        for (int i = 0; i + batchSize <= Examples; i += batchSize)
        {
            var idx = tensor(order[i..(i + batchSize)].Select(v => (long)v).ToArray());
            yield return (X.index_select(0, idx), Y.index_select(0, idx));
        }
    }

    public Trainer<(Tensor X, Tensor Y)> Trainer(TrainingOptions options, Func<EvaluationResult>? evaluate = null,
                                                 IProgress<TrainingProgress>? progress = null,
                                                 Action<IReadOnlyList<TrainableParameter>>? beforeStep = null) =>
        new(options, Model.named_parameters(), Loss)
        {
            Evaluate = evaluate, Model = Model, Progress = progress, BeforeOptimizerStep = beforeStep,
        };

    public TrainingResult Fit(TrainingOptions options, Func<EvaluationResult>? evaluate = null, IProgress<TrainingProgress>? progress = null,
                              CancellationToken ct = default, string? resumeFrom = null)
    {
        var trainer = Trainer(options, evaluate, progress);
        return trainer.Fit(e => Batches(e, options.BatchSize), Examples / options.BatchSize, ct, resumeFrom);
    }

    /// <summary>Detached copies of all parameters by name.</summary>
    public Dictionary<string, Tensor> Snapshot()
    {
        using var _ = no_grad();
        return Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
    }

    public double ValidationLoss()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return Loss((X, Y)).item<float>();
    }

    public void Dispose()
    {
        Model.Dispose();
        X.Dispose();
        Y.Dispose();
    }
}

/// <summary>A progress sink that runs synchronously on the training thread (unlike <see cref="Progress{T}"/>).</summary>
sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}

static class Weights
{
    public static bool BitEqual(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var other) && kv.Value.eq(other).all().item<bool>());

    /// <summary>sqrt(sum ||a - b||^2) over all tensors (optionally only names passing <paramref name="filter"/>).</summary>
    public static double Distance(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b, Func<string, bool>? filter = null)
    {
        using var scope = NewDisposeScope();
        double sum = 0;
        foreach (var (name, t) in a)
            if (filter?.Invoke(name) ?? true) sum += (t - b[name]).square().sum().item<float>();
        return Math.Sqrt(sum);
    }
}
