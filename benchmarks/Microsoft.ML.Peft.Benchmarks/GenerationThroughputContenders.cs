using System.Diagnostics;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>The shipped Moby-Dick decoder of <c>samples/Generation/Model</c>, found from the working folder or the binary's.</summary>
static class ShippedDecoder
{
    /// <summary>Short prompts of different lengths, so a batch of them is left-padded as in real use.</summary>
    public static readonly string[] Prompts =
    {
        "Call me Ishmael.",
        "The whale",
        "It was a cold and grey morning when the Pequod",
        "Queequeg looked at me and said",
        "Starbuck, the chief mate,",
        "There she blows!",
        "In the cabin the captain sat alone with his charts and",
        "Ahab",
    };

    /// <summary>The model folder.</summary>
    /// <exception cref="DirectoryNotFoundException">Neither folder lies inside a checkout of the repository.</exception>
    public static string Folder()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Peft.sln")))
                    return Path.Combine(dir.FullName, "samples", "Generation", "Model");
        throw new DirectoryNotFoundException("samples/Generation/Model not found: run from inside the repository.");
    }
}

/// <summary>Greedy generation of a fixed number of tokens through <see cref="TextGenerator.GenerateIds"/>, with or without the KV cache.</summary>
sealed class DecodeContender(TextGenerator generator, IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens, bool useCache)
{
    // No end-of-sequence id: every row generates exactly newTokens, so both contenders do the same work.
    readonly GenerationOptions options = new() { MaxNewTokens = newTokens, UseCache = useCache, EosTokenIds = Array.Empty<int>() };

    /// <summary>Tokens one run generates (rows x new tokens).</summary>
    public int TokensPerRun => prompts.Count * options.MaxNewTokens;

    /// <summary>The ids of the last run, to check that the cache does not change greedy output.</summary>
    public IReadOnlyList<int[]> LastIds { get; private set; } = Array.Empty<int[]>();

    /// <summary>Generates once and returns the seconds it took (prompt processing included, as a user sees it).</summary>
    public double Run()
    {
        var clock = Stopwatch.StartNew();
        LastIds = generator.GenerateIds(prompts, options);
        double seconds = clock.Elapsed.TotalSeconds;
        if (LastIds.Any(row => row.Length != options.MaxNewTokens))
            throw new InvalidOperationException($"Expected {options.MaxNewTokens} new tokens per row, got {string.Join(", ", LastIds.Select(r => r.Length))}.");
        return seconds;
    }
}

/// <summary>
/// Causal-LM training steps through the shared <see cref="Trainer{TBatch}"/> (AdamW), on a fixed (B, T) batch of
/// ids. Each round is one <see cref="Trainer{TBatch}.Fit"/> of 1 + steps optimizer steps; the first step of every
/// Fit (where AdamW allocates its moments) is left out of the time.
/// </summary>
sealed class TrainContender : IDisposable
{
    readonly nn.Module module;
    readonly Trainer<int> trainer;
    readonly Tensor ids;
    readonly int steps, batch, sequence;

    /// <summary>Loads the decoder, applies <paramref name="method"/> and prepares the trainer.</summary>
    public TrainContender(PretrainedDecoder decoder, IPeftMethodOptions method, bool bf16, int batch, int sequence, int steps)
    {
        (this.steps, this.batch, this.sequence) = (steps, batch, sequence);
        // bf16: the module is bf16 before the method is applied and before the trainer takes its parameters, as the
        // estimators do; the trainer keeps fp32 masters and moments for trainable bf16 parameters.
        var model = decoder.LoadModel(dtype: bf16 ? ScalarType.BFloat16 : null);
        module = (nn.Module)model;
        Peft = method.Apply(module);
        module.train();
        using (var generator = new Generator(0))
            ids = randint(0, model.VocabSize, new long[] { batch, sequence }, dtype: ScalarType.Int64, generator: generator).DetachFromDisposeScope();
        var options = new TrainingOptions
        {
            LearningRate = 1e-4, BatchSize = batch, Epochs = 1, WarmupSteps = 0, Seed = 0, LogEverySteps = 0,
            Precision = bf16 ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32,
        };
        trainer = new Trainer<int>(options, module.named_parameters(), _ => CausalLmLoss.Mean(model, ids, null, ids)) { Model = module };
    }

    /// <summary>The applied method (for its trainable-parameter count).</summary>
    public IPeftModel Peft { get; }

    /// <summary>Trainable vs total parameters as the trainer sees them.</summary>
    public TrainableParameterSummary Summary => trainer.Summary;

    /// <summary>Training tokens one timed run processes (steps x batch x sequence).</summary>
    public int TokensPerRun => steps * batch * sequence;

    /// <summary>Loss of the last step, to show the steps really train.</summary>
    public double LastLoss { get; private set; }

    /// <summary>One Fit; returns the seconds of its timed steps.</summary>
    public double Run()
    {
        var result = trainer.Fit(_ => Enumerable.Range(0, 1 + steps), 1 + steps);
        var timed = result.History.Steps.Skip(1).ToList();
        LastLoss = timed[^1].Loss;
        return timed.Sum(s => batch / s.ExamplesPerSecond);   // ExamplesPerSecond = batch / step seconds
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        ids.Dispose();
        module.Dispose();
    }
}
