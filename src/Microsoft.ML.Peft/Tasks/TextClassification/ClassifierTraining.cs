using Microsoft.ML.Peft.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// Trains an <see cref="AdaptedClassifier"/> with the shared <see cref="Trainer{TBatch}"/>: a batch is a list of row
/// indices (the trainer's per-epoch permutation, so a seeded run is reproducible), tokenized inside the step's
/// dispose scope with dynamic padding to the batch's longest row.
/// </summary>
internal static class ClassifierTraining
{
    public static TrainingResult Train(AdaptedClassifier classifier, LabelledTexts train, LabelledTexts? validation,
                                       TextClassifierOptions options, Action<string> log)
    {
        var training = options.Training;
        int batchSize = training.BatchSize;
        int batchesPerEpoch = (train.Count + batchSize - 1) / batchSize;

        Tensor Loss(int[] rows)
        {
            var logits = classifier.Logits(rows.Select(i => train.Texts[i]).ToArray(), train.Pairs is null ? null : rows.Select(i => train.Pairs[i]).ToArray());
            var labels = tensor(rows.Select(i => train.Labels[i]).ToArray(), device: classifier.Device);
            return nn.functional.cross_entropy(logits, labels);
        }

        IEnumerable<int[]> Batches(TrainingEpoch epoch)
        {
            var order = epoch.Permutation(train.Count);
            for (int start = 0; start < order.Length; start += batchSize)
                yield return order.AsSpan(start, Math.Min(batchSize, order.Length - start)).ToArray();
        }

        var trainer = new Trainer<int[]>(training, classifier.Model.named_parameters(), Loss)
        {
            Model = classifier.Model,
            Progress = options.Progress,
            Log = log,
            // The head is new: pulling it towards its random start (L2-SP) would only hinder it.
            IsPretrained = name => !name.StartsWith("classifier.", StringComparison.Ordinal),
            Evaluate = validation is null ? null : () =>
            {
                var (loss, accuracy) = classifier.Measure(validation, Math.Max(batchSize, options.ScoringBatchSize));
                return EvaluationResult.FromLoss(loss, accuracy);
            },
        };
        try
        {
            var result = trainer.Fit(Batches, batchesPerEpoch, options.CancellationToken);
            if (result.StopReason == TrainingStopReason.Cancelled)
                throw new OperationCanceledException($"Training was cancelled after {result.StepsCompleted} optimizer steps.", options.CancellationToken);
            return result;
        }
        finally
        {
            classifier.Model.eval();
        }
    }
}
