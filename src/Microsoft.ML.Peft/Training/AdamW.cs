using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter) with explicit per-parameter moment tensors, written here rather than taken from
/// <c>torch.optim.AdamW</c> because: (1) the state is plain named tensors, so a checkpoint is a safetensors file
/// and resuming is bit-exact; (2) the learning rate is passed per step from the closed-form schedule instead of
/// being mutated inside param groups; (3) bf16 parameters get fp32 master copies, which TorchSharp's optimizer
/// does not do. The update is torch's: <c>w *= 1 - lr*wd</c> (decay group only); <c>m = b1 m + (1-b1) g</c>;
/// <c>v = b2 v + (1-b2) g^2</c>; <c>w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)</c>.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly IReadOnlyList<TrainableParameter> _parameters;
    readonly Tensor[] _m, _v;
    readonly Tensor?[] _master; // fp32 copies of parameters stored in a lower precision
    readonly double _beta1, _beta2, _eps, _weightDecay;

    /// <summary>Creates zeroed moments (and fp32 masters for non-fp32/fp64 parameters).</summary>
    public AdamW(IReadOnlyList<TrainableParameter> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
    {
        _parameters = parameters;
        (_beta1, _beta2, _eps, _weightDecay) = (beta1, beta2, eps, weightDecay);
        _m = new Tensor[parameters.Count];
        _v = new Tensor[parameters.Count];
        _master = new Tensor?[parameters.Count];
        using var _ = no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i].Parameter;
            bool low = p.dtype is not (ScalarType.Float32 or ScalarType.Float64);
            var stateType = low ? ScalarType.Float32 : p.dtype;
            _m[i] = zeros_like(p, dtype: stateType).DetachFromDisposeScope();
            _v[i] = zeros_like(p, dtype: stateType).DetachFromDisposeScope();
            _master[i] = low ? p.detach().to(ScalarType.Float32).DetachFromDisposeScope() : null;
        }
    }

    /// <summary>Optimizer steps taken so far (the <c>t</c> of the bias corrections).</summary>
    public long StepCount { get; private set; }

    /// <summary>Applies one update with learning rate <paramref name="lr"/> to every parameter that has a gradient.</summary>
    public void Step(double lr)
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(_beta1, StepCount), bc2Sqrt = Math.Sqrt(1 - Math.Pow(_beta2, StepCount));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // The step's constants as native scalars made once and disposed with the step: a number passed to an operation
        // becomes a new native scalar per call, freed only when .NET collects it, and those small allocations scattered
        // between a step's activations fragment the native heap.
        using Scalar decay = 1 - lr * _weightDecay, beta1 = _beta1, gradientShare = 1 - _beta1, beta2 = _beta2,
                     squareShare = 1 - _beta2, secondCorrection = bc2Sqrt, eps = _eps, stepSize = -lr / bc1;
        for (int i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i].Parameter;
            var grad = p.grad;
            if (grad is null) continue; // unused in this step's graph: no gradient, no update (as torch)
            var w = _master[i] ?? p;
            var g = grad.dtype == _m[i].dtype ? grad : grad.to(_m[i].dtype);
            if (_parameters[i].Decay && _weightDecay > 0) w.mul_(decay);
            _m[i].mul_(beta1).add_(g, alpha: gradientShare);
            _v[i].mul_(beta2).addcmul_(g, g, value: squareShare);
            var denom = _v[i].sqrt().div_(secondCorrection).add_(eps);
            w.addcdiv_(_m[i], denom, value: stepSize);
            if (_master[i] is { } master) p.copy_(master);
        }
    }

    /// <summary>The state as named tensors (<c>exp_avg.NAME</c>, <c>exp_avg_sq.NAME</c>, <c>master.NAME</c>) for a checkpoint.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            yield return new("exp_avg." + _parameters[i].Name, _m[i]);
            yield return new("exp_avg_sq." + _parameters[i].Name, _v[i]);
            if (_master[i] is { } master) yield return new("master." + _parameters[i].Name, master);
        }
    }

    /// <summary>Restores the state saved by <see cref="StateTensors"/> and the step count.</summary>
    public void LoadState(Func<string, Tensor> read, long stepCount)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int i = 0; i < _parameters.Count; i++)
        {
            _m[i].copy_(read("exp_avg." + _parameters[i].Name));
            _v[i].copy_(read("exp_avg_sq." + _parameters[i].Name));
            _master[i]?.copy_(read("master." + _parameters[i].Name));
        }
        StepCount = stepCount;
    }

    /// <summary>Re-reads masters from the parameters after someone else changed them (restoring best weights).</summary>
    public void SyncMastersFromParameters()
    {
        using var _ = no_grad();
        for (int i = 0; i < _parameters.Count; i++) _master[i]?.copy_(_parameters[i].Parameter);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
        foreach (var t in _master) t?.Dispose();
    }
}
