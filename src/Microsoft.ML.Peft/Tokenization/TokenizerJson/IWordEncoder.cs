namespace Microsoft.ML.Peft.Tokenization;

/// <summary>Encodes one pre-tokenized word with a BPE model.</summary>
internal interface IWordEncoder
{
    /// <summary>Appends the ids of <paramref name="word"/> (plain text, after normalization and pre-tokenization).</summary>
    void Encode(string word, List<int> ids);
}
