using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Lora;

public sealed partial class LoraModel
{
    /// <summary>Whether the active adapter is merged into the base weights.</summary>
    public bool IsMerged => layers.Values.Any(l => l.Has(ActiveAdapter) && l.IsMerged(ActiveAdapter));

    /// <summary>
    /// Adds <c>scaling * B @ A</c> of the active adapter into each adapted weight, so forward costs what the base costs.
    /// The factors stay, so <see cref="Unmerge"/> can undo it (up to float rounding).
    /// </summary>
    /// <param name="safeMerge">Check every merged weight for NaN/Inf first and write nothing when one is not finite.</param>
    /// <exception cref="InvalidOperationException"><paramref name="safeMerge"/> found a non-finite merged weight (named).</exception>
    public void Merge(bool safeMerge = false)
    {
        ThrowIfUnloaded();
        var targets = layers.Values.Where(l => l.Has(ActiveAdapter) && !l.IsMerged(ActiveAdapter)).ToList();
        if (safeMerge)
            foreach (var layer in targets)
                if (!layer.MergeIsFinite(ActiveAdapter))
                    throw new InvalidOperationException(
                        $"Merging adapter '{ActiveAdapter}' into '{layer.Name}' gives NaN or Inf weights; nothing was merged.");
        foreach (var layer in targets) layer.Merge(ActiveAdapter);
    }

    /// <summary>Subtracts the merged update again, restoring the base weights (up to float rounding).</summary>
    public void Unmerge()
    {
        ThrowIfUnloaded();
        foreach (var layer in layers.Values.Where(l => l.Has(ActiveAdapter))) layer.Unmerge(ActiveAdapter);
    }

    /// <summary>
    /// Merges the active adapter and removes every adapter module and hook, returning the plain base model with the
    /// update in its weights and its original <c>requires_grad</c> flags. This object is unusable afterwards.
    /// </summary>
    /// <param name="safeMerge">As in <see cref="Merge"/>.</param>
    public nn.Module MergeAndUnload(bool safeMerge = false)
    {
        Merge(safeMerge);
        return Unload();
    }

    /// <summary>
    /// Removes every adapter module and hook without merging (unmerging first), returning the base model as it
    /// was. This object is unusable afterwards.
    /// </summary>
    public nn.Module Unload()
    {
        ThrowIfUnloaded();
        foreach (var layer in layers.Values) layer.Detach();
        layers.Clear();
        adapters.Clear();
        foreach (var (name, p) in Model.named_parameters())
            p.requires_grad = originalRequiresGrad.GetValueOrDefault(name, true);
        unloaded = true;
        return Model;
    }

    /// <summary>
    /// Within the returned scope the model computes the base model's output (a merged adapter is unmerged for the
    /// scope and merged again at its end). Modules to save are trained in place, so they keep their trained values.
    /// </summary>
    /// <example><code>using (lora.DisableAdapters()) { var baseLogits = model.Logits(ids); }</code></example>
    public IDisposable DisableAdapters()
    {
        ThrowIfUnloaded();
        bool wasMerged = IsMerged;
        if (wasMerged) Unmerge();
        foreach (var layer in layers.Values) layer.Disabled = true;
        return new Scope(() =>
        {
            foreach (var layer in layers.Values) layer.Disabled = false;
            if (wasMerged) Merge();
        });
    }

    /// <summary>
    /// The active adapter's update <c>scaling * B @ A</c> (out, in) for each layer it adapts, by module name, in fp32
    /// and without gradient; the caller owns the tensors. QLoRA adds them to dequantized copies of its 4-bit layers.
    /// </summary>
    internal Dictionary<string, Tensor> ActiveDeltas()
    {
        ThrowIfUnloaded();
        var deltas = new Dictionary<string, Tensor>();
        using var noGrad = no_grad();
        foreach (var layer in layers.Values.Where(l => l.Has(ActiveAdapter)))
        {
            using var scope = NewDisposeScope();
            deltas[layer.Name] = layer.Delta(ActiveAdapter).to(ScalarType.Float32).MoveToOuterDisposeScope();
        }
        return deltas;
    }

    sealed class Scope(Action onDispose) : IDisposable
    {
        Action? action = onDispose;

        public void Dispose()
        {
            action?.Invoke();
            action = null;
        }
    }
}
