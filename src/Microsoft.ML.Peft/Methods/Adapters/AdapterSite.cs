using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Adapters;

/// <summary>
/// One bottleneck adapter in place: registered as <c>adapter</c> under a sub-layer's output module
/// (<c>...attention.output</c> or <c>...layer.i.output</c>), acting through a forward hook on that module's
/// <c>dense</c>. Sequential: <c>h = dense(x); h + adapter(h)</c>, then dropout, residual and LayerNorm as before.
/// Parallel: the sub-layer's input s (captured by a hook on its first linear layer) gives <c>h + adapter(s)</c>.
/// </summary>
internal sealed class AdapterSite
{
    readonly nn.Module owner;
    readonly List<Action> removeHooks = new();
    Tensor? captured;  // (B, T, hidden) input of the sub-layer, parallel adapters only; owned by the forward's scope

    public AdapterSite(string name, nn.Module owner, Linear dense, Linear? inputSource, BottleneckAdapter adapter)
    {
        Name = name;
        this.owner = owner;
        Adapter = adapter;
        owner.register_module("adapter", adapter);
        if (inputSource is not null)
            removeHooks.Add(inputSource.register_forward_hook((_, input, output) =>
            {
                if (!Disabled) captured = input;
                return output;
            }).remove);
        removeHooks.Add(dense.register_forward_hook(AddAdapter).remove);
        IsParallel = inputSource is not null;
    }

    /// <summary>Full name of the owning module, e.g. <c>bert.encoder.layer.0.output</c>.</summary>
    public string Name { get; }

    public BottleneckAdapter Adapter { get; }

    public bool IsParallel { get; }

    public bool Disabled { get; set; }

    /// <summary>Removes the hooks and the adapter module.</summary>
    public void Detach()
    {
        foreach (var remove in removeHooks) remove();
        owner.register_module("adapter", null!);  // TorchSharp unregisters a child given null
        Adapter.Dispose();
    }

    /// <summary>The hook on <c>dense</c>: <paramref name="output"/> (B, T, hidden) plus the adapter's term.</summary>
    Tensor AddAdapter(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        if (Disabled) return output;
        var source = IsParallel ? captured ?? throw new InvalidOperationException($"Parallel adapter '{Name}' saw no sub-layer input.") : output;
        captured = null;
        using var scope = NewDisposeScope();
        return output.add(Adapter.call(source)).MoveToOuterDisposeScope();
    }
}
