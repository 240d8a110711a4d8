using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Onnx;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// all-MiniLM-L6-v2 with a 2-class head prepared for one train-throughput configuration (a method and a dtype), with one
/// fixed random batch of (batch, seq) token ids, and the <see cref="Trainer{TBatch}"/> that trains it on that batch.
/// </summary>
sealed class TrainingSetup
{
    TrainingSetup(BertForSequenceClassification model, Trainer<int> trainer, ScalarType type)
        => (Model, Trainer, Type) = (model, trainer, type);

    public BertForSequenceClassification Model { get; }

    public Trainer<int> Trainer { get; }

    public ScalarType Type { get; }

    /// <summary>
    /// Loads the model, casts it for <paramref name="dtype"/>, applies <paramref name="method"/> and builds its trainer;
    /// <paramref name="onLoss"/> runs at each call of the loss (once a step), <paramref name="progress"/> after each step.
    /// </summary>
    public static TrainingSetup Create(Action<nn.Module> method, string dtype, int batch, int seq,
                                       IProgress<TrainingProgress>? progress = null, Action? onLoss = null)
    {
        var type = TypeOf(dtype);
        var model = (BertForSequenceClassification)PretrainedModel.FromDirectory(MiniLmL6V2.EnsureDownloaded()).LoadSequenceClassifier(2);
        if (type == ScalarType.BFloat16) MixedPrecision.ToBFloat16(model);
        method(model);
        model.train();

        random.manual_seed(0);
        var ids = randint(1000, model.Encoder.Config.VocabSize, new long[] { batch, seq }).DetachFromDisposeScope();
        var mask = ones(batch, seq, dtype: ScalarType.Int64).DetachFromDisposeScope();
        var labels = randint(0, 2, new long[] { batch }).DetachFromDisposeScope();
        var options = new TrainingOptions
        {
            LearningRate = 2e-5, BatchSize = batch, Epochs = 1, WarmupSteps = 0, Seed = 0, LogEverySteps = 0,
            Precision = type == ScalarType.BFloat16 ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32,
        };
        var trainer = new Trainer<int>(options, model.named_parameters(), _ =>
        {
            onLoss?.Invoke();
            return nn.functional.cross_entropy(model.Logits(ids, mask).to(ScalarType.Float32), labels);
        }) { Progress = progress };
        return new TrainingSetup(model, trainer, type);
    }

    /// <summary>The weights' type of a configuration's dtype name, <c>fp32</c> or <c>bf16</c>.</summary>
    public static ScalarType TypeOf(string dtype) => dtype == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>Trains <paramref name="steps"/> steps on the batch.</summary>
    public TrainingResult Fit(int steps) => Trainer.Fit(_ => Enumerable.Range(0, steps), steps);
}
