namespace Microsoft.ML.Peft.Tokenization;

/// <summary>How the rows of a <see cref="TokenizedBatch"/> are padded to a common length.</summary>
public enum PaddingMode
{
    /// <summary>Pad every row to the longest row of the batch (after truncation); the usual choice for training.</summary>
    Longest,

    /// <summary>Pad every row to the requested maximum length, so every batch has the same shape (useful for static graphs and exports).</summary>
    MaxLength,
}
