using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// A column that a <see cref="BatchedTextTransformer{TResult}"/> appends to its input: its name, type and
/// annotations, and how to read its value out of one row's scoring result.
/// </summary>
/// <typeparam name="TResult">What the transformer's batch scorer returns for one row.</typeparam>
public abstract class BatchOutputColumn<TResult>
{
    private protected BatchOutputColumn(string name, DataViewType type, DataViewSchema.Annotations? annotations)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(type);
        Name = name;
        Type = type;
        Annotations = annotations ?? DataViewSchema.Annotations.Empty;
    }

    /// <summary>The column's name in the output schema.</summary>
    public string Name { get; }

    /// <summary>The column's ML.NET type.</summary>
    public DataViewType Type { get; }

    /// <summary>The column's annotations (for example <c>KeyValues</c> of a predicted-label key column).</summary>
    public DataViewSchema.Annotations Annotations { get; }

    /// <summary>Makes a <c>ValueGetter&lt;T&gt;</c> that reads this column out of whatever result <paramref name="current"/> returns.</summary>
    internal abstract Delegate MakeGetter(Func<TResult> current);
}

/// <summary>A <see cref="BatchOutputColumn{TResult}"/> whose values are of type <typeparamref name="TValue"/>.</summary>
/// <typeparam name="TResult">What the transformer's batch scorer returns for one row.</typeparam>
/// <typeparam name="TValue">The column's raw value type (<c>float</c>, <c>uint</c> for keys, <c>VBuffer&lt;float&gt;</c>, ...).</typeparam>
public sealed class BatchOutputColumn<TResult, TValue> : BatchOutputColumn<TResult>
{
    /// <summary>
    /// Writes one row's value into <paramref name="value"/>. For vectors, write into the caller's buffer
    /// (for example with <c>VBufferEditor</c>) rather than handing out the result's own array: ML.NET lets the
    /// consumer of a getter reuse and modify that buffer.
    /// </summary>
    public delegate void Projection(TResult result, ref TValue value);

    private readonly Projection _project;

    /// <summary>Describes a column of type <paramref name="type"/> computed by <paramref name="project"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="type"/> does not hold values of type <typeparamref name="TValue"/>.</exception>
    public BatchOutputColumn(string name, DataViewType type, Projection project, DataViewSchema.Annotations? annotations = null)
        : base(name, type, annotations)
    {
        ArgumentNullException.ThrowIfNull(project);
        if (type.RawType != typeof(TValue))
            throw new ArgumentException($"Column '{name}' is declared as {type} (values of {type.RawType.Name}) but its projection writes {typeof(TValue).Name}.", nameof(type));
        _project = project;
    }

    internal override Delegate MakeGetter(Func<TResult> current)
    {
        ValueGetter<TValue> getter = (ref TValue value) => _project(current(), ref value);
        return getter;
    }
}
