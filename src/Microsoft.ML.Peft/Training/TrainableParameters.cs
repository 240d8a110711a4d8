using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

/// <summary>One trainable parameter with its state-dict name and whether weight decay applies to it.</summary>
/// <param name="Name">The state-dict name, e.g. <c>bert.encoder.layer.0.attention.self.query.lora_A.weight</c>.</param>
/// <param name="Parameter">The parameter (requires_grad is true).</param>
/// <param name="Decay">False for biases and normalisation weights.</param>
public sealed record TrainableParameter(string Name, Parameter Parameter, bool Decay)
{
    /// <summary>The parameter-group name used in reports: <c>decay</c> or <c>no_decay</c>.</summary>
    public string Group => Decay ? "decay" : "no_decay";
}

/// <summary>Counts of trainable and total parameters, reported at the start of training (principle 5).</summary>
/// <param name="Trainable">Elements in parameters that require gradients.</param>
/// <param name="Total">Elements in all parameters handed to the trainer.</param>
/// <param name="TrainableTensors">Number of trainable parameter tensors.</param>
/// <param name="DTypes">The distinct dtypes of the trainable parameters (e.g. <c>Float32</c>, <c>BFloat16</c>).</param>
public sealed record TrainableParameterSummary(long Trainable, long Total, int TrainableTensors, IReadOnlyList<string> DTypes)
{
    /// <summary>Trainable share of all parameters, in percent.</summary>
    public double Percent => Total == 0 ? 0 : 100.0 * Trainable / Total;

    /// <inheritdoc />
    public override string ToString() =>
        $"trainable params: {Trainable:N0} || all params: {Total:N0} || trainable%: {Percent:F4} ({TrainableTensors} tensors, {string.Join("+", DTypes)})";
}

/// <summary>Picks the trainable parameters out of a module's named parameters and sorts them into decay groups.</summary>
public static class TrainableParameters
{
    /// <summary>
    /// The parameters that require gradients (whatever the PEFT method left trainable), in the given order, each
    /// marked for weight decay unless a segment of its name contains one of <paramref name="noDecayPatterns"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No parameter is trainable, or two share a name.</exception>
    public static IReadOnlyList<TrainableParameter> Select(IEnumerable<(string Name, Parameter Parameter)> named, IReadOnlyList<string> noDecayPatterns,
                                                           out TrainableParameterSummary summary)
    {
        var list = new List<TrainableParameter>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        long total = 0, trainable = 0;
        foreach (var (name, p) in named)
        {
            if (!names.Add(name)) throw new ArgumentException($"Two parameters are named '{name}'.", nameof(named));
            total += p.numel();
            if (!p.requires_grad) continue;
            if (!p.is_floating_point()) throw new ArgumentException($"Trainable parameter '{name}' has non-floating type {p.dtype}.", nameof(named));
            trainable += p.numel();
            list.Add(new TrainableParameter(name, p, Decays(name, noDecayPatterns)));
        }
        if (list.Count == 0)
            throw new ArgumentException($"None of the {names.Count} parameters requires gradients; freeze less or add an adapter.", nameof(named));
        summary = new TrainableParameterSummary(trainable, total, list.Count,
                                                list.Select(t => t.Parameter.dtype.ToString()).Distinct().ToList());
        return list;
    }

    /// <summary>Whether weight decay applies to a parameter of this name (no segment contains a no-decay pattern).</summary>
    public static bool Decays(string name, IReadOnlyList<string> noDecayPatterns)
    {
        foreach (string segment in name.Split('.'))
            foreach (string pattern in noDecayPatterns)
                if (segment.Contains(pattern, StringComparison.OrdinalIgnoreCase)) return false;
        return true;
    }
}
