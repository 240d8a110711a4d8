using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

/// <summary>An in-memory copy of the trainable tensors (for best-weight restore and for the L2-SP/EWC anchor).</summary>
public sealed class WeightSnapshot : IDisposable
{
    readonly IReadOnlyList<TrainableParameter> _parameters;
    readonly Tensor[] _copies;

    /// <summary>Copies the current values (detached clones, same dtype and device).</summary>
    public WeightSnapshot(IReadOnlyList<TrainableParameter> parameters)
    {
        _parameters = parameters;
        using var _ = no_grad();
        _copies = parameters.Select(p => p.Parameter.detach().clone().DetachFromDisposeScope()).ToArray();
    }

    WeightSnapshot(IReadOnlyList<TrainableParameter> parameters, Tensor[] copies) => (_parameters, _copies) = (parameters, copies);

    /// <summary>Wraps tensors (one per parameter, owned from now on) as a snapshot.</summary>
    internal static WeightSnapshot FromTensors(IReadOnlyList<TrainableParameter> parameters, Tensor[] tensors) => new(parameters, tensors);

    /// <summary>The copy of parameter <paramref name="index"/>.</summary>
    public Tensor this[int index] => _copies[index];

    /// <summary>The copies by parameter name, with a key prefix (for checkpoints).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> Named(string prefix) =>
        _parameters.Select((p, i) => new KeyValuePair<string, Tensor>(prefix + p.Name, _copies[i]));

    /// <summary>Overwrites the copies with the current parameter values.</summary>
    public void Update()
    {
        using var _ = no_grad();
        for (int i = 0; i < _copies.Length; i++) _copies[i].copy_(_parameters[i].Parameter);
    }

    /// <summary>Overwrites the copies with tensors read by name (resuming from a checkpoint).</summary>
    public void Load(string prefix, Func<string, Tensor> read)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int i = 0; i < _copies.Length; i++) _copies[i].copy_(read(prefix + _parameters[i].Name));
    }

    /// <summary>Writes the copies back into the parameters.</summary>
    public void Restore()
    {
        using var _ = no_grad();
        for (int i = 0; i < _copies.Length; i++) _parameters[i].Parameter.copy_(_copies[i]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var c in _copies) c.Dispose();
    }
}
