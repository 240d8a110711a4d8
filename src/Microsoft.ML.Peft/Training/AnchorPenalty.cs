using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

/// <summary>
/// Forgetting protection as a quadratic pull towards the starting weights w0:
/// <c>sum_i c_i (w_i - w0_i)^2</c> with <c>c = l2sp</c> for pretrained parameters (L2-SP, Li et al. 2018) plus
/// <c>ewc * F</c> with a diagonal Fisher estimate F (EWC, Kirkpatrick et al. 2017). Because the penalty is
/// quadratic its gradient <c>2 c (w - w0)</c> is added straight into the parameters' gradients once per
/// optimizer step, with no autograd graph and no per-micro-batch cost; the result equals adding the penalty
/// to the loss.
/// </summary>
public sealed class AnchorPenalty : IDisposable
{
    readonly IReadOnlyList<TrainableParameter> _parameters;
    readonly double[] _l2sp;
    readonly double _ewc;

    /// <summary>Snapshots w0 now; <paramref name="isPretrained"/> picks who gets L2-SP (new heads usually should not).</summary>
    public AnchorPenalty(IReadOnlyList<TrainableParameter> parameters, double l2spStrength, double ewcStrength, Func<string, bool> isPretrained)
    {
        _parameters = parameters;
        _l2sp = parameters.Select(p => isPretrained(p.Name) ? l2spStrength : 0).ToArray();
        _ewc = ewcStrength;
        Anchor = new WeightSnapshot(parameters);
    }

    /// <summary>The starting weights w0.</summary>
    public WeightSnapshot Anchor { get; }

    /// <summary>The diagonal Fisher estimate, one tensor per parameter; null until <see cref="EstimateFisher{TBatch}"/> ran.</summary>
    public WeightSnapshot? Fisher { get; private set; }

    /// <summary>
    /// Estimates the diagonal Fisher at w0 as the mean over <paramref name="batches"/> of the squared gradient of
    /// <paramref name="loss"/> (the empirical Fisher; one backward per batch). Leaves the gradients zeroed.
    /// </summary>
    public void EstimateFisher<TBatch>(IEnumerable<TBatch> batches, Func<TBatch, Tensor> loss)
    {
        var sums = _parameters.Select(p => zeros_like(p.Parameter, dtype: ScalarType.Float32).DetachFromDisposeScope()).ToArray();
        int count = 0;
        using (var it = batches.GetEnumerator())
        {
            while (true)
            {
                using var scope = NewDisposeScope();
                if (!it.MoveNext()) break;
                GradientNorms.Zero(_parameters);
                loss(it.Current).backward();
                using var _ = no_grad();
                for (int i = 0; i < sums.Length; i++)
                    if (_parameters[i].Parameter.grad is { } g) sums[i].add_(g.to(ScalarType.Float32).square());
                count++;
            }
        }
        if (count == 0) throw new ArgumentException("EWC needs at least one Fisher batch; none was supplied.", nameof(batches));
        GradientNorms.Zero(_parameters);
        using (no_grad()) foreach (var s in sums) s.div_(count);
        Fisher?.Dispose();
        Fisher = WeightSnapshotOf(sums);
    }

    /// <summary>Replaces the Fisher estimate with tensors read from a checkpoint.</summary>
    public void LoadFisher(string prefix, Func<string, Tensor> read)
    {
        Fisher ??= WeightSnapshotOf(_parameters.Select(p => zeros_like(p.Parameter, dtype: ScalarType.Float32).DetachFromDisposeScope()).ToArray());
        Fisher.Load(prefix, read);
    }

    WeightSnapshot WeightSnapshotOf(Tensor[] tensors) => WeightSnapshot.FromTensors(_parameters, tensors);

    /// <summary>Adds the penalty's gradient to every parameter's gradient; returns the penalty's value.</summary>
    public double AddGradients()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var terms = new List<Tensor>();
        for (int i = 0; i < _parameters.Count; i++)
        {
            bool ewc = _ewc > 0 && Fisher is not null;
            if (_l2sp[i] == 0 && !ewc) continue;
            var p = _parameters[i].Parameter;
            var diff = p.to(ScalarType.Float32) - Anchor[i].to(ScalarType.Float32);
            var c = ewc ? Fisher![i] * _ewc + _l2sp[i] : tensor(_l2sp[i], ScalarType.Float32);
            terms.Add((c * diff.square()).sum());
            p.grad?.add_((c * diff * 2).to(p.dtype));
        }
        return terms.Count == 0 ? 0 : stack(terms).sum().item<float>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Anchor.Dispose();
        Fisher?.Dispose();
    }
}
