using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// Byte-level BPE words (GPT-2, Qwen2, Llama 3, SmolLM) through Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> in
/// byte-level mode, which gives GPT-2's ids exactly (tested against tiktoken). It is handed one word at a time, since
/// the pre-tokenization of <c>tokenizer.json</c> is ours; this class adds <c>ignore_merges</c>, which it lacks.
/// </summary>
internal sealed class ByteLevelWordEncoder : IWordEncoder
{
    readonly BpeTokenizer bpe;
    readonly Dictionary<string, int> vocabulary;
    readonly bool ignoreMerges;

    public ByteLevelWordEncoder(JsonSource source, BpeModelData model)
    {
        vocabulary = model.Vocabulary;
        ignoreMerges = model.IgnoreMerges;
        var merges = new List<string>(model.Merges.Count);
        for (int i = 0; i < model.Merges.Count; i++)
        {
            (string left, string right) = model.Merges[i];
            // BpeTokenizer takes merges as "a b" strings; byte-level tokens never hold a space (it is spelled "Ġ").
            if (left.Contains(' ') || right.Contains(' '))
                throw source.Unsupported($"model.merges[{i}]", $"the byte-level merge '{left}' + '{right}' holds a space, which byte-level vocabularies never do.");
            merges.Add(left + " " + right);
        }

        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(model.Vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = WholeText.Instance,
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw source.Error("model", $"Microsoft.ML.Tokenizers cannot build a byte-level BPE from it: {e.Message}");
        }
    }

    public void Encode(string word, List<int> ids)
    {
        if (ignoreMerges && vocabulary.TryGetValue(ByteLevelChars.Encode(word), out int id))
        {
            ids.Add(id);
            return;
        }

        ids.AddRange(bpe.EncodeToIds(word));
    }

    /// <summary>
    /// Hands BpeTokenizer the word as one piece; without a pre-tokenizer it would split on whitespace and drop the spaces.
    /// </summary>
    sealed class WholeText : Microsoft.ML.Tokenizers.PreTokenizer
    {
        public static readonly WholeText Instance = new();

        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => text.Length == 0 ? [] : [(0, text.Length)];

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => text.Length == 0 ? [] : [(0, text.Length)];
    }
}
