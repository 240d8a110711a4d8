namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// Turns texts into the padded id batches a transformer consumes, and ids back into text.
/// Implemented by <see cref="TransformerTokenizer"/>; depend on this interface to substitute a fake in tests.
/// </summary>
public interface ITextEncoder
{
    /// <summary>Number of ids the model's embedding must cover (largest id + 1).</summary>
    int VocabularySize { get; }

    /// <summary>The ids of the special tokens, by role.</summary>
    SpecialTokenIds SpecialTokens { get; }

    /// <summary>
    /// Encodes texts (or pairs of texts) with the model's special tokens, truncates each row to
    /// <paramref name="maxLength"/> (special tokens counted) and pads the rows to a common length.
    /// </summary>
    /// <param name="texts">The texts, one per row.</param>
    /// <param name="pairs">Optional second texts, one per row (same count as <paramref name="texts"/>).</param>
    /// <param name="maxLength">Maximum row length, special tokens included.</param>
    /// <param name="padding">Pad to the longest row or to <paramref name="maxLength"/>.</param>
    /// <returns>The batch.</returns>
    TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int maxLength = 512, PaddingMode padding = PaddingMode.Longest);

    /// <summary>Encodes one text to ids, without truncation or padding.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecialTokens">Whether to frame the ids with the model's special tokens.</param>
    /// <returns>The ids.</returns>
    IReadOnlyList<int> EncodeToIds(string text, bool addSpecialTokens = true);

    /// <summary>Turns ids back into text.</summary>
    /// <param name="ids">The ids (padding included is fine when <paramref name="skipSpecialTokens"/> is true).</param>
    /// <param name="skipSpecialTokens">Whether to drop special tokens (padding, framing) from the text.</param>
    /// <returns>The text.</returns>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);
}
