using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// Holds one pass-through input column's values for the rows of the current batch. The batched cursor reads
/// the input a whole batch ahead of the row it serves, so the input cursor's own getters already point at a
/// later row; the values must be copied out as the rows are read.
/// </summary>
internal abstract class InputColumnBuffer
{
    /// <summary>Reads the input cursor's current value into slot <paramref name="slot"/>.</summary>
    public abstract void Fill(int slot);

    /// <summary>A <c>ValueGetter&lt;T&gt;</c> serving the slot that <c>currentSlot</c> names.</summary>
    public abstract Delegate Getter { get; }

    /// <summary>Makes the buffer for <paramref name="column"/>, typed by the column's raw type.</summary>
    public static InputColumnBuffer Create(DataViewRowCursor input, DataViewSchema.Column column, int capacity, Func<int> currentSlot)
    {
        // Vectors get a buffer that copies on read: handing out our VBuffer would let the consumer write into it.
        var bufferType = column.Type is VectorDataViewType vector
            ? typeof(VectorColumnBuffer<>).MakeGenericType(vector.ItemType.RawType)
            : typeof(ScalarColumnBuffer<>).MakeGenericType(column.Type.RawType);
        return (InputColumnBuffer)Activator.CreateInstance(bufferType, input, column, capacity, currentSlot)!;
    }
}

/// <summary>Buffer of a scalar column (numbers, keys, text memory, booleans): values are copied by assignment.</summary>
internal sealed class ScalarColumnBuffer<T> : InputColumnBuffer
{
    readonly T[] _slots;
    readonly ValueGetter<T> _read;

    public ScalarColumnBuffer(DataViewRowCursor input, DataViewSchema.Column column, int capacity, Func<int> currentSlot)
    {
        _slots = new T[capacity];
        _read = input.GetGetter<T>(column);
        Getter = new ValueGetter<T>((ref T value) => value = _slots[currentSlot()]);
    }

    public override void Fill(int slot) => _read(ref _slots[slot]);
    public override Delegate Getter { get; }
}

/// <summary>Buffer of a vector column: each slot owns its arrays, and reads copy into the caller's buffer.</summary>
internal sealed class VectorColumnBuffer<T> : InputColumnBuffer
{
    readonly VBuffer<T>[] _slots;
    readonly ValueGetter<VBuffer<T>> _read;

    public VectorColumnBuffer(DataViewRowCursor input, DataViewSchema.Column column, int capacity, Func<int> currentSlot)
    {
        _slots = new VBuffer<T>[capacity];
        _read = input.GetGetter<VBuffer<T>>(column);
        Getter = new ValueGetter<VBuffer<T>>((ref VBuffer<T> value) => _slots[currentSlot()].CopyTo(ref value));
    }

    public override void Fill(int slot) => _read(ref _slots[slot]);
    public override Delegate Getter { get; }
}
