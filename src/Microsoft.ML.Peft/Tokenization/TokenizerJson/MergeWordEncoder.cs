using System.Text;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// BPE over characters with byte fallback: the SentencePiece-style models of Llama 2 and Mistral's
/// <c>tokenizer.json</c> ("▁" for spaces, <c>&lt;0xNN&gt;</c> tokens for characters the vocabulary lacks).
/// Microsoft.ML.Tokenizers' BpeTokenizer has no byte fallback, so the merging is done here: the pair of neighbours
/// with the highest-priority merge is joined first (leftmost on ties) until no merge applies.
/// </summary>
internal sealed class MergeWordEncoder : IWordEncoder
{
    readonly Dictionary<string, int> vocabulary;
    readonly Dictionary<(int Left, int Right), (int Rank, int Merged)> merges = new();
    readonly int?[] byteIds = new int?[256];
    readonly bool byteFallback, fuseUnknown;
    readonly int? unknownId;

    public MergeWordEncoder(JsonSource source, BpeModelData model)
    {
        vocabulary = model.Vocabulary;
        for (int rank = 0; rank < model.Merges.Count; rank++)
        {
            (string left, string right) = model.Merges[rank];
            // A repeated merge keeps its first (highest) priority.
            merges.TryAdd((vocabulary[left], vocabulary[right]), (rank, vocabulary[left + right]));
        }

        byteFallback = model.ByteFallback;
        fuseUnknown = model.FuseUnknown;
        if (model.UnknownToken is string unk)
        {
            unknownId = vocabulary.TryGetValue(unk, out int id) ? id : throw source.Error("model.unk_token", $"'{unk}' is not in model.vocab.");
        }

        for (int b = 0; b < 256; b++) byteIds[b] = vocabulary.TryGetValue($"<0x{b:X2}>", out int id) ? id : null;
        if (byteFallback && byteIds.Any(id => id is null))
            throw source.Error("model.byte_fallback", "is true but model.vocab lacks some of the 256 tokens <0x00>...<0xFF>.");
    }

    public void Encode(string word, List<int> ids)
    {
        var symbols = new List<int>();
        bool previousUnknown = false;
        Span<byte> utf8 = stackalloc byte[4];
        foreach (Rune rune in word.EnumerateRunes())
        {
            if (vocabulary.TryGetValue(rune.ToString(), out int id))
            {
                symbols.Add(id);
                previousUnknown = false;
            }
            else if (byteFallback)
            {
                int count = rune.EncodeToUtf8(utf8);
                for (int i = 0; i < count; i++) symbols.Add(byteIds[utf8[i]]!.Value);
                previousUnknown = false;
            }
            else if (unknownId is int unk)
            {
                if (!(fuseUnknown && previousUnknown)) symbols.Add(unk);
                previousUnknown = true;
            }

            // With neither byte fallback nor an unknown token the character is dropped, as Hugging Face does.
        }

        Merge(symbols);
        ids.AddRange(symbols.Where(s => s >= 0));
    }

    // Joins neighbours in priority order. Merged-away slots become -1; next[] links the live ones.
    void Merge(List<int> symbols)
    {
        int n = symbols.Count;
        if (n < 2) return;
        var next = new int[n];
        var previous = new int[n];
        for (int i = 0; i < n; i++) (next[i], previous[i]) = (i + 1 < n ? i + 1 : -1, i - 1);
        var queue = new PriorityQueue<(int Left, int LeftId, int RightId), (int Rank, int Position)>();
        void Offer(int left)
        {
            int right = left < 0 ? -1 : next[left];
            if (right < 0) return;
            if (merges.TryGetValue((symbols[left], symbols[right]), out var merge))
                queue.Enqueue((left, symbols[left], symbols[right]), (merge.Rank, left));
        }

        for (int i = 0; i + 1 < n; i++) Offer(i);
        while (queue.TryDequeue(out var candidate, out _))
        {
            int left = candidate.Left, right = next[left];
            // Stale entries: one side has been merged into something else since this pair was offered.
            if (symbols[left] != candidate.LeftId || right < 0 || symbols[right] != candidate.RightId) continue;
            symbols[left] = merges[(candidate.LeftId, candidate.RightId)].Merged;
            symbols[right] = -1;
            next[left] = next[right];
            if (next[right] >= 0) previous[next[right]] = left;
            Offer(previous[left]);
            Offer(left);
        }
    }
}
