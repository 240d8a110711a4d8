using System.Reflection;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Core;

/// <summary>
/// Swaps one child module of a model for another under the same name, e.g. a frozen <c>Linear</c> for a 4-bit
/// <c>Linear4bit</c> (QLoRA) or back for a dequantized <c>Linear</c> (merging).
/// </summary>
/// <remarks>
/// <para>
/// A TorchSharp module exists twice: as a registered child (what <c>named_modules</c>, <c>state_dict</c>,
/// <c>to()</c> and <c>train()</c> walk) and as the C# field its parent's <c>forward</c> calls. TorchSharp's own
/// <c>RegisterComponents</c> ties the two by name: each module-typed field is registered under the field's name.
/// Surgery therefore changes both, keyed by the same name: the field is set through reflection (the inverse of what
/// <c>RegisterComponents</c> reads) and the child is re-registered. Why not a wrapper module: a wrapper would add a
/// level to every state-dict key (<c>query.base_layer.weight</c>), and <c>Linear</c> is sealed, so no subclass can
/// stand in for it either. The fields that may be swapped are therefore typed <c>nn.Module&lt;Tensor, Tensor&gt;</c>
/// in the model files (BERT, LLaMA), and their forwards keep calling them through <c>call()</c> so hooks still run.
/// </para>
/// <para>
/// Registration order is kept: TorchSharp's child dictionary is ordered and appends on insert, so the children from
/// the replaced one on are unregistered and registered again in their old order. <c>state_dict()</c> therefore
/// lists the same keys in the same order when the new module has the same parameter and buffer names.
/// </para>
/// </remarks>
public static class ModuleSurgery
{
    /// <summary>
    /// Replaces the child <paramref name="childName"/> of <paramref name="parent"/> by <paramref name="replacement"/>
    /// in both the registered children and the parent's C# field of that name. Returns the old child, which the caller
    /// now owns (dispose it to free its memory). Hooks registered on the old child do not move to the new one.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="parent"/> has no child <paramref name="childName"/>.</exception>
    /// <exception cref="NotSupportedException">
    /// The parent holds the child in no field of that name (e.g. inside a <c>ModuleList</c>), or the field's declared type
    /// cannot hold <paramref name="replacement"/> (the message names the field and its type).
    /// </exception>
    public static nn.Module Replace(nn.Module parent, string childName, nn.Module replacement)
    {
        var children = parent.named_children().ToList();
        int index = children.FindIndex(c => c.name == childName);
        if (index < 0)
            throw new ArgumentException($"{parent.GetType().Name} has no child module '{childName}'. Children: {string.Join(", ", children.Select(c => c.name))}.", nameof(childName));
        var old = children[index].module;
        var field = FindField(parent, childName, old)
            ?? throw new NotSupportedException(
                $"{parent.GetType().Name} does not hold its child '{childName}' in a field of that name, so its forward would not see a replacement.");
        if (!field.FieldType.IsInstanceOfType(replacement))
            throw new NotSupportedException(
                $"Field '{childName}' of {parent.GetType().Name} is declared {field.FieldType.Name} and cannot hold a {replacement.GetType().Name}; " +
                "declare it nn.Module<Tensor, Tensor> to allow replacement.");

        // Unregister from the replaced child to the end, then register again in the same order with the new module.
        for (int i = index; i < children.Count; i++) parent.register_module(children[i].name, null!);  // null unregisters
        field.SetValue(parent, replacement);  // readonly instance fields accept reflection writes
        for (int i = index; i < children.Count; i++)
            parent.register_module(children[i].name, i == index ? replacement : children[i].module);
        return old;
    }

    /// <summary>
    /// Replaces the module at the dotted path <paramref name="moduleName"/> of <paramref name="model"/>
    /// (e.g. <c>bert.encoder.layer.0.attention.self.query</c>); see <see cref="Replace(nn.Module, string, nn.Module)"/>.
    /// </summary>
    public static nn.Module ReplaceAt(nn.Module model, string moduleName, nn.Module replacement, bool disposeOld = false)
    {
        int dot = moduleName.LastIndexOf('.');
        var parent = dot < 0 ? model : Find(model, moduleName[..dot]);
        var old = Replace(parent, moduleName[(dot + 1)..], replacement);
        if (disposeOld) old.Dispose();
        return old;
    }

    /// <summary>The module at the dotted path <paramref name="moduleName"/> (empty: <paramref name="model"/> itself).</summary>
    /// <exception cref="ArgumentException">No module has that name.</exception>
    public static nn.Module Find(nn.Module model, string moduleName)
    {
        var module = model;
        if (moduleName.Length == 0) return module;
        foreach (var part in moduleName.Split('.'))
            module = module.named_children().FirstOrDefault(c => c.name == part).module
                ?? throw new ArgumentException($"The model has no module '{moduleName}' (no child '{part}').", nameof(moduleName));
        return module;
    }

    // The instance field (any visibility, declared on the type or a base type) that holds the child under its name.
    // It must hold this very child: a field of that name holding something else is not the one forward calls.
    static FieldInfo? FindField(nn.Module parent, string name, nn.Module current)
    {
        for (var t = parent.GetType(); t is not null; t = t.BaseType)
        {
            var field = t.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
            if (field is not null) return ReferenceEquals(field.GetValue(parent), current) ? field : null;
        }
        return null;
    }
}
