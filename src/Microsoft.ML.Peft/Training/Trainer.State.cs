using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

public sealed partial class Trainer<TBatch>
{
    sealed partial class Run
    {
        /// <summary>Runs the evaluation callback; tracks the best; returns true when patience ran out.</summary>
        bool RunEvaluation()
        {
            EvaluationResult result;
            _t.Model?.eval();
            try
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                result = _t.Evaluate!();
            }
            finally
            {
                _t.Model?.train();
            }
            var record = new EvaluationRecord(_step, _epoch, result.Metrics);
            _history.Evaluations.Add(record);
            bool improved = _early.Observe(result, _step);
            if (improved && _o.RestoreBestWeights)
            {
                if (_best is null) _best = new WeightSnapshot(_t._parameters);
                else _best.Update();
            }
            Log($"evaluation at step {_step}: {string.Join(", ", result.Metrics.Select(m => $"{m.Key} {m.Value:G5}"))}" +
                (improved ? " (best)" : $" (no improvement {_early.BadEvaluations})"));
            _t.Progress?.Report(new TrainingProgress(_step, _total, _epoch, null, record));
            return _early.ShouldStop;
        }

        void SaveCheckpoint()
        {
            if (_step == _lastCheckpoint) return;
            var state = new TrainingState(_step, _epoch, _batchInEpoch, _total, _adam.StepCount, _o.Seed,
                                          _early.Best, _early.BestStep, _early.BadEvaluations, _best is not null);
            var tensors = _t._parameters.Select(p => new KeyValuePair<string, Tensor>("param." + p.Name, p.Parameter))
                                        .Concat(_adam.StateTensors());
            if (Penalty is not null) tensors = tensors.Concat(Penalty.Anchor.Named("anchor."));
            if (Penalty?.Fisher is { } fisher) tensors = tensors.Concat(fisher.Named("fisher."));
            if (_best is not null) tensors = tensors.Concat(_best.Named("best."));
            string folder = TrainingCheckpoint.Save(_o.CheckpointFolder!, state, tensors, _history);
            _lastCheckpoint = _step;
            Log($"checkpoint saved: {folder}");
        }

        /// <summary>Loads everything a checkpoint holds; the run then continues as if never interrupted.</summary>
        public void Resume(string folder)
        {
            var state = TrainingCheckpoint.ReadState(folder);
            if (state.TotalSteps != _total)
                throw new InvalidOperationException($"Checkpoint '{folder}' is of a run with {state.TotalSteps} total steps; this run has {_total}. Resume with the same options and data.");
            using var ckpt = Checkpoints.SafeTensorsCheckpoint.Open(folder);
            Func<string, Tensor> read = ckpt.ReadTensor;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                foreach (var p in _t._parameters) p.Parameter.copy_(read("param." + p.Name));
            }
            _adam.LoadState(read, state.OptimizerSteps);
            if (Penalty is not null)
            {
                Penalty.Anchor.Load("anchor.", read);
                if (_o.EwcStrength > 0) Penalty.LoadFisher("fisher.", read);
            }
            if (state.HasBestWeights)
            {
                _best = new WeightSnapshot(_t._parameters);
                _best.Load("best.", read);
            }
            _early.Load(state.BestMetric, state.BestStep, state.BadEvaluations);
            var history = TrainingCheckpoint.ReadHistory(folder);
            _history.Steps.AddRange(history.Steps);
            _history.Evaluations.AddRange(history.Evaluations);
            (_step, _epoch, _batchInEpoch, _lastCheckpoint) = (state.Step, state.Epoch, state.BatchInEpoch, state.Step);
            using (var scope = NewDisposeScope()) random.set_rng_state(read(TrainingCheckpoint.RngKey));
            Log($"resumed from {folder} at step {_step} (epoch {_epoch}, micro-batch {_batchInEpoch})");
        }

        public TrainingResult Finish(TrainingStopReason reason)
        {
            // A cancelled run keeps its latest weights (they match its checkpoint, so it can resume); others get the best.
            bool restore = reason != TrainingStopReason.Cancelled && _o.RestoreBestWeights && _best is not null;
            if (restore)
            {
                _best!.Restore();
                _adam.SyncMastersFromParameters();
                Log($"restored the best weights (step {_early.BestStep}, {_o.EarlyStoppingMetric} {_early.Best:G5})");
            }
            var memory = MemoryReport.Current();
            _history.PeakResidentMb = memory.PeakResidentMb;
            Log($"training {reason} after {_step} steps; {memory}" + (_history.HeapTrims > 0 ? $"; heap trimmed {_history.HeapTrims} times" : ""));
            return new TrainingResult(_history, reason, _step, _early.Best, _early.BestStep, restore, memory);
        }

        public void Dispose()
        {
            _adam.Dispose();
            Penalty?.Dispose();
            _best?.Dispose();
        }
    }
}
