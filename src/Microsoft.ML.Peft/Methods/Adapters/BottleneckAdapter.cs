using Microsoft.ML.Peft.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Adapters;

/// <summary>
/// One bottleneck: <c>adapter_up(act(adapter_down(x))) * scaling</c>, (B, T, hidden) to (B, T, hidden) through
/// (B, T, m). Down ~ N(0, 0.02) with zero bias; up all zeros, so the adapter adds nothing at the start.
/// </summary>
public sealed class BottleneckAdapter : nn.Module<Tensor, Tensor>
{
    readonly Linear adapter_down, adapter_up;
    readonly string activation;
    readonly double scaling;

    /// <summary>Creates a bottleneck of width <paramref name="bottleneck"/> for states of width <paramref name="hidden"/>.</summary>
    public BottleneckAdapter(long hidden, long bottleneck, string activation, double scaling, Device? device = null, ScalarType? dtype = null)
        : base("BottleneckAdapter")
    {
        adapter_down = nn.Linear(hidden, bottleneck, device: device, dtype: dtype);  // weight (m, hidden)
        adapter_up = nn.Linear(bottleneck, hidden, device: device, dtype: dtype);    // weight (hidden, m)
        this.activation = activation;
        this.scaling = scaling;
        RegisterComponents();
        using var noGrad = no_grad();
        nn.init.normal_(adapter_down.weight!, 0, 0.02);
        nn.init.zeros_(adapter_down.bias!);
        nn.init.zeros_(adapter_up.weight!);
        nn.init.zeros_(adapter_up.bias!);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = adapter_up.call(Activations.Apply(activation, adapter_down.call(x)));  // (B, T, m) then (B, T, hidden)
        return (scaling == 1.0 ? y : y.mul(scaling)).MoveToOuterDisposeScope();
    }
}
