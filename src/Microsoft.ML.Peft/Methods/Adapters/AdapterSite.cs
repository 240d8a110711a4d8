using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Adapters;

/// <summary>
/// One bottleneck adapter in place: registered as <c>adapter</c> under the module of an <see cref="AdapterPlacement"/>
/// (BERT <c>...attention.output</c> / <c>...layer.i.output</c>, GPT-2 <c>...attn</c> / <c>...mlp</c>, LLaMA
/// <c>...self_attn</c> / <c>...mlp</c>), acting through a forward hook on the sub-layer's output projection.
/// Sequential: <c>h = proj(x); h + adapter(h)</c>, then dropout, residual (and BERT's LayerNorm) as before.
/// Parallel: the sub-layer's input s (captured by a hook on its first projection) gives <c>h + adapter(s)</c>.
/// </summary>
internal sealed class AdapterSite
{
    readonly nn.Module owner;
    readonly List<Action> removeHooks = new();
    // (..., hidden) input of the sub-layer, parallel adapters only: a handle of its own, because the caller may dispose
    // the tensor it passed to the projection (a row view, see RowLinear) before the output projection runs.
    Tensor? captured;

    public AdapterSite(string name, nn.Module owner, nn.Module<Tensor, Tensor> dense, nn.Module<Tensor, Tensor>? inputSource, BottleneckAdapter adapter)
    {
        Name = name;
        this.owner = owner;
        Adapter = adapter;
        owner.register_module("adapter", adapter);
        if (inputSource is not null)
            removeHooks.Add(inputSource.register_forward_hook((_, input, output) =>
            {
                if (Disabled) return output;
                captured?.Dispose();
                captured = input.alias().DetachFromDisposeScope();  // ours until the output projection uses it
                return output;
            }).remove);
        removeHooks.Add(dense.register_forward_hook(AddAdapter).remove);
        IsParallel = inputSource is not null;
    }

    /// <summary>Full name of the owning module, e.g. <c>bert.encoder.layer.0.output</c> or <c>transformer.h.0.mlp</c>.</summary>
    public string Name { get; }

    public BottleneckAdapter Adapter { get; }

    public bool IsParallel { get; }

    public bool Disabled { get; set; }

    /// <summary>Removes the hooks and the adapter module.</summary>
    public void Detach()
    {
        foreach (var remove in removeHooks) remove();
        captured?.Dispose();
        captured = null;
        owner.register_module("adapter", null!);  // TorchSharp unregisters a child given null
        Adapter.Dispose();
    }

    /// <summary>The hook on the output projection: <paramref name="output"/> (B, T, hidden) plus the adapter's term.</summary>
    Tensor AddAdapter(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        if (Disabled) return output;
        if (!IsParallel) return AddTerm(output, output);
        using var source = captured ?? throw new InvalidOperationException($"Parallel adapter '{Name}' saw no sub-layer input.");
        captured = null;
        return AddTerm(output, source);
    }

    Tensor AddTerm(Tensor output, Tensor source)
    {
        using var scope = NewDisposeScope();
        return output.add(Adapter.call(source)).MoveToOuterDisposeScope();
    }
}
