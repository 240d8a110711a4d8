using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Microsoft.ML.Peft.Training;

/// <summary>One optimizer step.</summary>
/// <param name="Step">0-based optimizer step.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Loss">Mean training loss over the step's micro-batches (without the forgetting penalty).</param>
/// <param name="LearningRate">The learning rate used.</param>
/// <param name="GradientNorm">Global gradient norm before clipping.</param>
/// <param name="GradientNormByGroup">Gradient norm per parameter group before clipping.</param>
/// <param name="Penalty">The L2-SP/EWC penalty value (0 when off).</param>
/// <param name="ExamplesPerSecond">Throughput of this step.</param>
/// <param name="Skipped">True when the step was dropped for a non-finite loss or gradient.</param>
public sealed record StepRecord(int Step, int Epoch, double Loss, double LearningRate, double GradientNorm,
                                IReadOnlyDictionary<string, double> GradientNormByGroup, double Penalty,
                                double ExamplesPerSecond, bool Skipped);

/// <summary>One validation pass.</summary>
/// <param name="Step">Optimizer steps done when it ran.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Metrics">The metrics by name.</param>
public sealed record EvaluationRecord(int Step, int Epoch, IReadOnlyDictionary<string, double> Metrics);

/// <summary>Everything measured during a run: per step and per evaluation; saved as CSV, JSON and a PNG plot.</summary>
public sealed class TrainingHistory
{
    /// <summary>The trainable-parameter summary of the run.</summary>
    public TrainableParameterSummary? Parameters { get; set; }

    /// <summary>One record per optimizer step, in order.</summary>
    public List<StepRecord> Steps { get; set; } = new();

    /// <summary>One record per evaluation, in order.</summary>
    public List<EvaluationRecord> Evaluations { get; set; } = new();

    /// <summary>Peak resident memory at the end of the run (MiB).</summary>
    public double PeakResidentMb { get; set; }

    /// <summary>
    /// How often the trainer gave freed heap memory back to the system at a step boundary to keep resident memory flat
    /// (see <see cref="NativeHeap"/>); 0 when the working set never grew or the heap is not managed.
    /// </summary>
    public int HeapTrims { get; set; }

    /// <summary>
    /// The most CUDA device memory seen in use after any step (see <see cref="CudaMemory"/>: device-wide, sampled at
    /// step boundaries); null when training ran without CUDA.
    /// </summary>
    public double? PeakCudaUsedMb { get; set; }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes one CSV row per step: <c>step,epoch,loss,learning_rate,grad_norm,penalty,examples_per_s,skipped</c>.</summary>
    public void SaveCsv(string path)
    {
        var sb = new StringBuilder("step,epoch,loss,learning_rate,grad_norm,penalty,examples_per_s,skipped\n");
        foreach (var s in Steps)
            sb.Append(string.Create(CultureInfo.InvariantCulture,
                $"{s.Step},{s.Epoch},{s.Loss:R},{s.LearningRate:R},{s.GradientNorm:R},{s.Penalty:R},{s.ExamplesPerSecond:F2},{(s.Skipped ? 1 : 0)}\n"));
        File.WriteAllText(path, sb.ToString());
    }

    /// <summary>Writes the whole history as JSON (round-trips through <see cref="LoadJson"/>).</summary>
    public void SaveJson(string path) => File.WriteAllText(path, ToJson());

    /// <summary>The history as JSON text. Non-finite numbers are written as strings.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonWithNaN);

    /// <summary>Reads a history written by <see cref="SaveJson"/> or <see cref="ToJson"/>.</summary>
    public static TrainingHistory FromJson(string json) =>
        JsonSerializer.Deserialize<TrainingHistory>(json, JsonWithNaN) ?? throw new InvalidDataException("The history JSON is empty.");

    /// <summary>Reads a history file written by <see cref="SaveJson"/>.</summary>
    public static TrainingHistory LoadJson(string path) => FromJson(File.ReadAllText(path));

    static readonly JsonSerializerOptions JsonWithNaN = new(Json)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Saves <c>history.csv</c>, <c>history.json</c> and <c>history.png</c> into <paramref name="folder"/>.</summary>
    public void SaveAll(string folder, string? metric = null)
    {
        Directory.CreateDirectory(folder);
        SaveCsv(Path.Combine(folder, "history.csv"));
        SaveJson(Path.Combine(folder, "history.json"));
        TrainingPlot.SavePng(this, Path.Combine(folder, "history.png"), metric);
    }
}
