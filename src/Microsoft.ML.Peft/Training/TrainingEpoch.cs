namespace Microsoft.ML.Peft.Training;

/// <summary>
/// What the batch factory gets at the start of each epoch: its index and a <see cref="System.Random"/> for shuffling
/// that depends only on the seed and the epoch, so a resumed run can rebuild the same order and skip what was done.
/// </summary>
public sealed class TrainingEpoch
{
    /// <summary>Creates the epoch; <paramref name="seed"/> null gives an unseeded shuffle.</summary>
    public TrainingEpoch(int index, int? seed)
    {
        Index = index;
        Shuffle = seed is int s ? new Random(unchecked(s * 1_000_003 + index)) : new Random();
    }

    /// <summary>0-based epoch.</summary>
    public int Index { get; }

    /// <summary>The epoch's shuffle generator.</summary>
    public Random Shuffle { get; }

    /// <summary>A shuffled order of <paramref name="count"/> example indices (Fisher-Yates with <see cref="Shuffle"/>).</summary>
    public int[] Permutation(int count)
    {
        var order = Enumerable.Range(0, count).ToArray();
        Shuffle.Shuffle(order);
        return order;
    }
}
