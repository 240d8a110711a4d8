using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Core;

/// <summary>
/// A by-name container of one adapter's modules (PEFT's <c>ModuleDict</c>), registered as a child of the layer it
/// adapts, so keys read <c>...query.lora_A.default.weight</c> like PEFT's in-memory state dict. Unlike TorchSharp's
/// ModuleDict it can remove an entry (deleting an adapter).
/// </summary>
public sealed class AdapterModules<T> : nn.Module where T : nn.Module
{
    readonly Dictionary<string, T> byName = new();

    /// <summary>Creates an empty container.</summary>
    public AdapterModules() : base("ModuleDict") { }

    /// <summary>The module of adapter <paramref name="adapterName"/>.</summary>
    public T this[string adapterName] => byName[adapterName];

    /// <summary>Adapter names held.</summary>
    public IReadOnlyCollection<string> Names => byName.Keys;

    /// <summary>Adds and registers <paramref name="module"/> under <paramref name="adapterName"/>.</summary>
    public void Add(string adapterName, T module)
    {
        register_module(adapterName, module);
        byName.Add(adapterName, module);
    }

    /// <summary>Unregisters and disposes the module of <paramref name="adapterName"/>.</summary>
    public void Remove(string adapterName)
    {
        if (!byName.Remove(adapterName, out var module)) return;
        register_module(adapterName, null!);  // TorchSharp's way to unregister a child
        module.Dispose();
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) foreach (var m in byName.Values) m.Dispose();
        byName.Clear();
        base.Dispose(disposing);
    }
}
