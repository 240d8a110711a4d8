using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

/// <summary>The scalar part of a resumable checkpoint (<c>trainer_state.json</c>).</summary>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="Epoch">The epoch the next step belongs to.</param>
/// <param name="BatchInEpoch">Micro-batches of that epoch already consumed (skipped on resume; the shuffle is a function of seed and epoch).</param>
/// <param name="TotalSteps">Optimizer steps of the whole run, to catch a resume with different options.</param>
/// <param name="OptimizerSteps">AdamW's step count (its bias corrections).</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="BestMetric">Early stopping's best value.</param>
/// <param name="BestStep">Its step.</param>
/// <param name="BadEvaluations">Evaluations without improvement so far.</param>
/// <param name="HasBestWeights">Whether <c>best.*</c> tensors are stored.</param>
public sealed record TrainingState(int Step, int Epoch, int BatchInEpoch, int TotalSteps, long OptimizerSteps, int? Seed,
                                   double? BestMetric, int BestStep, int BadEvaluations, bool HasBestWeights);

/// <summary>
/// A resumable checkpoint folder <c>checkpoint-STEP</c>: <c>model.safetensors</c> holding the trainable parameters
/// (<c>param.*</c>), AdamW moments and fp32 masters, the L2-SP/EWC anchor and Fisher, the best weights and
/// torch's RNG state (<c>rng.torch</c>, uint8); <c>trainer_state.json</c>; and <c>history.json</c> so the resumed
/// run's history is the whole run's.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>The JSON file with the scalar state.</summary>
    public const string StateFileName = "trainer_state.json";

    /// <summary>The history file inside a checkpoint.</summary>
    public const string HistoryFileName = "history.json";

    /// <summary>The key of torch's CPU generator state.</summary>
    public const string RngKey = "rng.torch";

    /// <summary>The folder name for a checkpoint after <paramref name="step"/> steps.</summary>
    public static string FolderName(int step) => $"checkpoint-{step:D6}";

    /// <summary>Writes a checkpoint into <c>root/checkpoint-STEP</c> (tensors first, state file last) and returns its path.</summary>
    public static string Save(string root, TrainingState state, IEnumerable<KeyValuePair<string, Tensor>> tensors, TrainingHistory history)
    {
        string folder = Path.Combine(root, FolderName(state.Step));
        Directory.CreateDirectory(folder);
        using (var scope = NewDisposeScope())
        {
            var all = tensors.Append(new(RngKey, random.get_rng_state()));
            SafeTensorsCheckpoint.Save(folder, all);
        }
        File.WriteAllText(Path.Combine(folder, HistoryFileName), history.ToJson());
        // The state file is written last: a folder without it is an interrupted save and is not resumable.
        File.WriteAllText(Path.Combine(folder, StateFileName), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
        return folder;
    }

    /// <summary>Reads the scalar state of a checkpoint folder.</summary>
    /// <exception cref="FileNotFoundException">The folder has no <c>trainer_state.json</c> (not a checkpoint, or an interrupted save).</exception>
    public static TrainingState ReadState(string folder)
    {
        string path = Path.Combine(folder, StateFileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{folder}' is not a complete training checkpoint: {StateFileName} is missing.", path);
        return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} is empty.");
    }

    /// <summary>Reads the history stored with a checkpoint.</summary>
    public static TrainingHistory ReadHistory(string folder) => TrainingHistory.LoadJson(Path.Combine(folder, HistoryFileName));

    /// <summary>The newest complete checkpoint under <paramref name="root"/>, or null.</summary>
    public static string? Latest(string root) =>
        !Directory.Exists(root) ? null
        : Directory.GetDirectories(root, "checkpoint-*")
                   .Where(d => File.Exists(Path.Combine(d, StateFileName)))
                   .OrderBy(d => d, StringComparer.Ordinal).LastOrDefault();
}
