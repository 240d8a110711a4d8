using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

/// <summary>
/// The one training loop behind every estimator. It knows nothing of models or PEFT methods: it receives the
/// named parameters (and trains those a method left with <c>requires_grad</c>), a loss over a batch, and a batch
/// factory per epoch. AdamW with decoupled decay (no decay for biases/norms), warmup + cosine/linear/constant,
/// gradient accumulation, global-norm clipping, evaluation with early stopping and best-weight restore,
/// L2-SP/EWC, seeds, cancellation, resumable checkpoints, NaN/Inf guards and a full history.
/// </summary>
/// <example><code>
/// var trainer = new Trainer&lt;Batch&gt;(options, model.named_parameters(), b => model.Loss(b))
///     { Evaluate = () => EvaluationResult.FromLoss(ValLoss()), Model = model, Log = Console.WriteLine };
/// TrainingResult result = trainer.Fit(epoch => MakeBatches(epoch.Permutation(n)), batchesPerEpoch: n / 16);
/// </code></example>
public sealed partial class Trainer<TBatch>
{
    readonly TrainingOptions _options;
    readonly IReadOnlyList<TrainableParameter> _parameters;
    readonly TrainableParameterSummary _summary;
    readonly Func<TBatch, Tensor> _loss;

    /// <summary>Creates a trainer; the options are validated here, before any work.</summary>
    /// <param name="options">The run's options.</param>
    /// <param name="parameters">All named parameters of the model (e.g. <c>module.named_parameters()</c>); those with requires_grad are trained.</param>
    /// <param name="loss">The scalar training loss of one micro-batch, with its autograd graph.</param>
    public Trainer(TrainingOptions options, IEnumerable<(string Name, Parameter Parameter)> parameters, Func<TBatch, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loss);
        options.Validate();
        _options = options;
        _parameters = TrainableParameters.Select(parameters, options.NoDecayNamePatterns, out _summary);
        _loss = loss;
    }

    /// <summary>The trainable parameters with their decay groups.</summary>
    public IReadOnlyList<TrainableParameter> Parameters => _parameters;

    /// <summary>Trainable vs total parameter counts.</summary>
    public TrainableParameterSummary Summary => _summary;

    /// <summary>Validation pass returning named metrics; run under no_grad (and in eval mode when <see cref="Model"/> is set).</summary>
    public Func<EvaluationResult>? Evaluate { get; init; }

    /// <summary>Batches for the EWC Fisher estimate (required when <see cref="TrainingOptions.EwcStrength"/> is positive).</summary>
    public IEnumerable<TBatch>? FisherBatches { get; init; }

    /// <summary>Which trainable parameters L2-SP pulls towards their start (default: all; a new head usually should not be).</summary>
    public Func<string, bool>? IsPretrained { get; init; }

    /// <summary>The module to switch between <c>train()</c> and <c>eval()</c> around evaluations; optional.</summary>
    public nn.Module? Model { get; init; }

    /// <summary>Receives a report after every optimizer step and evaluation (synchronously from the training thread for a plain <see cref="IProgress{T}"/>).</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Human-readable log lines (the estimator wires this to <c>MLContext.Log</c>).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Test hook: sees the gradients after clipping, just before the optimizer applies them.</summary>
    internal Action<IReadOnlyList<TrainableParameter>>? BeforeOptimizerStep { get; init; }

    /// <summary>Optimizer steps for <paramref name="batchesPerEpoch"/> micro-batches per epoch under these options.</summary>
    public int TotalSteps(int batchesPerEpoch)
    {
        long perEpoch = (batchesPerEpoch + _options.GradientAccumulationSteps - 1) / _options.GradientAccumulationSteps;
        long total = perEpoch * _options.Epochs;
        return (int)Math.Min(total, _options.MaxSteps ?? int.MaxValue);
    }

    /// <summary>
    /// Trains. <paramref name="epochBatches"/> is called once per epoch and must yield exactly
    /// <paramref name="batchesPerEpoch"/> micro-batches (use <see cref="TrainingEpoch.Shuffle"/> to shuffle, so
    /// a resumed run sees the same order); tensors it creates are disposed after their step.
    /// </summary>
    /// <param name="epochBatches">The micro-batches of one epoch.</param>
    /// <param name="batchesPerEpoch">How many micro-batches an epoch has (sets the schedule length).</param>
    /// <param name="cancellationToken">Stops at the next optimizer-step boundary (saving a checkpoint when a folder is set).</param>
    /// <param name="resumeFrom">A checkpoint folder written by an earlier run with the same options; null starts fresh.</param>
    /// <exception cref="ArgumentException">Invalid options (named), or EWC without Fisher batches.</exception>
    /// <exception cref="NonFiniteTrainingException">A NaN/Inf loss or gradient with <see cref="NonFiniteAction.Stop"/>.</exception>
    public TrainingResult Fit(Func<TrainingEpoch, IEnumerable<TBatch>> epochBatches, int batchesPerEpoch,
                              CancellationToken cancellationToken = default, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(epochBatches);
        if (batchesPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(batchesPerEpoch), batchesPerEpoch, "An epoch needs at least one batch.");
        int total = TotalSteps(batchesPerEpoch);
        _options.Validate(total);
        if (_options.EwcStrength > 0 && FisherBatches is null)
            throw new ArgumentException($"TrainingOptions.EwcStrength = {_options.EwcStrength} needs {nameof(FisherBatches)} for the Fisher estimate.", nameof(FisherBatches));

        using var heapPolicy = _options.ManageNativeHeap ? NativeHeap.EnterTraining() : null;
        var run = new Run(this, total, batchesPerEpoch);
        try
        {
            Log?.Invoke(_summary.ToString());
            if (_options.Seed is int seed) random.manual_seed(seed);
            if (resumeFrom is not null) run.Resume(resumeFrom);
            else if (_options.EwcStrength > 0) run.Penalty!.EstimateFisher(FisherBatches!, _loss);
            Model?.train();
            var reason = run.Loop(epochBatches, cancellationToken);
            return run.Finish(reason);
        }
        finally
        {
            run.Dispose();
        }
    }
}
