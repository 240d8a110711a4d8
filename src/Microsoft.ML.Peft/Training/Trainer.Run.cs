using System.Diagnostics;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

public sealed partial class Trainer<TBatch>
{
    /// <summary>The mutable state of one <see cref="Fit"/> call: position, optimizer, trackers, history.</summary>
    sealed partial class Run : IDisposable
    {
        readonly Trainer<TBatch> _t;
        readonly TrainingOptions _o;
        readonly int _total, _batchesPerEpoch;
        readonly LearningRateSchedule _schedule;
        readonly AdamW _adam;
        readonly EarlyStopping _early;
        readonly HeapGrowthGuard? _heap;
        readonly WrapperCollection? _collection;
        readonly TrainingHistory _history = new();
        WeightSnapshot? _best;
        int _step, _epoch, _batchInEpoch, _lastCheckpoint = -1;

        public Run(Trainer<TBatch> trainer, int total, int batchesPerEpoch)
        {
            (_t, _o, _total, _batchesPerEpoch) = (trainer, trainer._options, total, batchesPerEpoch);
            // The guard trims the heap whose training policy Fit entered (NativeHeap.EnterTraining), where it is managed.
            _heap = _o.ManageNativeHeap && NativeHeap.IsManaged ? new HeapGrowthGuard() : null;
            _collection = _o.ManageNativeHeap ? new WrapperCollection() : null;
            _schedule = LearningRateSchedule.From(_o, total);
            _adam = new AdamW(_t._parameters, _o.Beta1, _o.Beta2, _o.Epsilon, _o.WeightDecay);
            _early = new EarlyStopping(_o);
            _history.Parameters = _t._summary;
            if (_o.L2SpStrength > 0 || _o.EwcStrength > 0)
                Penalty = new AnchorPenalty(_t._parameters, _o.L2SpStrength, _o.EwcStrength, _t.IsPretrained ?? (_ => true));
        }

        public AnchorPenalty? Penalty { get; }

        public TrainingStopReason Loop(Func<TrainingEpoch, IEnumerable<TBatch>> epochBatches, CancellationToken ct)
        {
            IEnumerator<TBatch>? batches = null;
            try
            {
                while (true)
                {
                    if (_batchInEpoch >= _batchesPerEpoch)
                    {
                        batches?.Dispose();
                        batches = null;
                        if (_o.EvaluateEverySteps == 0 && _t.Evaluate is not null && RunEvaluation()) return TrainingStopReason.EarlyStopped;
                        Log($"epoch {_epoch} done at step {_step}");
                        (_epoch, _batchInEpoch) = (_epoch + 1, 0);
                    }
                    if (_epoch >= _o.Epochs || _step >= _total) return TrainingStopReason.Completed;

                    // A clean boundary: every earlier step and epoch end is fully done, so a checkpoint here resumes exactly.
                    if (_o.CheckpointEverySteps > 0 && _step > 0 && _step % _o.CheckpointEverySteps == 0) SaveCheckpoint();
                    if (ct.IsCancellationRequested)
                    {
                        if (_o.CheckpointFolder is not null) SaveCheckpoint();
                        Log($"cancelled at step {_step}");
                        return TrainingStopReason.Cancelled;
                    }

                    batches ??= OpenEpoch(epochBatches);
                    TakeStep(batches);
                    if (_o.EvaluateEverySteps > 0 && _t.Evaluate is not null && _step % _o.EvaluateEverySteps == 0 && RunEvaluation())
                        return TrainingStopReason.EarlyStopped;
                }
            }
            finally
            {
                batches?.Dispose();
            }
        }

        /// <summary>Starts an epoch's enumeration and skips the micro-batches a resumed checkpoint already consumed.</summary>
        IEnumerator<TBatch> OpenEpoch(Func<TrainingEpoch, IEnumerable<TBatch>> epochBatches)
        {
            var it = epochBatches(new TrainingEpoch(_epoch, _o.Seed)).GetEnumerator();
            for (int i = 0; i < _batchInEpoch; i++)
            {
                using var scope = NewDisposeScope();
                if (!it.MoveNext()) throw BatchCountMismatch(i);
            }
            return it;
        }

        Exception BatchCountMismatch(int seen) => new InvalidOperationException(
            $"Epoch {_epoch} yielded only {seen} micro-batches but batchesPerEpoch is {_batchesPerEpoch}; the schedule depends on it.");

        /// <summary>One optimizer step over k micro-batches, each loss scaled by 1/k so k micro-batches equal one k times larger.</summary>
        void TakeStep(IEnumerator<TBatch> batches)
        {
            var clock = Stopwatch.StartNew();
            int k = Math.Min(_o.GradientAccumulationSteps, _batchesPerEpoch - _batchInEpoch);
            double lossSum = 0;
            string? bad = null;
            double badValue = 0;
            for (int j = 0; j < k; j++)
            {
                using var scope = NewDisposeScope();
                if (!batches.MoveNext()) throw BatchCountMismatch(_batchInEpoch + j);
                var loss = _t._loss(batches.Current).to(ScalarType.Float32);
                double value = loss.item<float>();
                if (!double.IsFinite(value))
                {
                    (bad, badValue) = (bad ?? "loss", bad is null ? value : badValue);
                    continue; // no backward: the step will not be applied; keep consuming its micro-batches
                }
                lossSum += value;
                (loss / k).backward();
            }
            _batchInEpoch += k;

            double penalty = 0;
            GradientNormReport norms = new(double.NaN, new Dictionary<string, double>());
            if (bad is null)
            {
                penalty = Penalty?.AddGradients() ?? 0;
                norms = GradientNorms.Measure(_t._parameters);
                if (!double.IsFinite(norms.Global)) (bad, badValue) = ("gradient norm", norms.Global);
            }
            double lr = _schedule.At(_step);
            if (bad is not null)
            {
                GradientNorms.Zero(_t._parameters); // weights untouched: the last good ones
                if (_o.OnNonFinite == NonFiniteAction.Stop)
                {
                    _history.PeakResidentMb = MemoryReport.Current().PeakResidentMb;
                    throw new NonFiniteTrainingException(_step, _epoch, bad, badValue, _history);
                }
                Log($"step {_step}: {bad} is {badValue}; step skipped");
                Record(new StepRecord(_step, _epoch, badValue, lr, norms.Global, norms.ByGroup, penalty, 0, Skipped: true));
                return;
            }
            if (_o.MaxGradientNorm is double max) GradientNorms.Clip(_t._parameters, norms.Global, max);
            _t.BeforeOptimizerStep?.Invoke(_t._parameters);
            _adam.Step(lr);
            GradientNorms.Zero(_t._parameters);
            double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            Record(new StepRecord(_step, _epoch, lossSum / k, lr, norms.Global, norms.ByGroup, penalty, k * _o.BatchSize / seconds, Skipped: false));
        }

        void Record(StepRecord record)
        {
            _history.Steps.Add(record);
            _collection?.AfterStep();  // before the heap guard reads resident memory
            if (_heap is not null)
            {
                _heap.AfterStep();
                _history.HeapTrims = _heap.Trims;
            }
            if (CudaMemory.TryRead() is { } cuda) _history.PeakCudaUsedMb = Math.Max(_history.PeakCudaUsedMb ?? 0, cuda.UsedMb);
            _step++;
            _t.Progress?.Report(new TrainingProgress(_step, _total, _epoch, record, null));
            if (_o.LogEverySteps > 0 && _step % _o.LogEverySteps == 0)
                Log($"step {_step}/{_total} epoch {_epoch} loss {record.Loss:G5} lr {record.LearningRate:G3} grad_norm {record.GradientNorm:G3} " +
                    $"{record.ExamplesPerSecond:F1} ex/s {MemoryReport.Current()}");
        }

        void Log(string line) => _t.Log?.Invoke(line);
    }
}
