namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// Base of the tokenizers: a subclass turns one text into ids (no special tokens) and decodes ids;
/// this class adds the model's framing (<see cref="Template"/>), truncation and padding, which are the same
/// for every model family.
/// </summary>
public abstract class TransformerTokenizer : ITextEncoder
{
    /// <summary>Initializes the shared parts.</summary>
    /// <param name="specialTokens">Special token ids by role.</param>
    /// <param name="template">Where special tokens go around a text or a pair.</param>
    /// <param name="vocabularySize">Largest id + 1.</param>
    protected TransformerTokenizer(SpecialTokenIds specialTokens, SequenceTemplate template, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(specialTokens);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabularySize);
        SpecialTokens = specialTokens;
        Template = template;
        VocabularySize = vocabularySize;
    }

    /// <inheritdoc />
    public int VocabularySize { get; }

    /// <inheritdoc />
    public SpecialTokenIds SpecialTokens { get; }

    /// <summary>Where this model puts its special tokens around one text or a pair of texts.</summary>
    public SequenceTemplate Template { get; }

    /// <inheritdoc />
    public TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int maxLength = 512, PaddingMode padding = PaddingMode.Longest)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (pairs is not null && pairs.Count != texts.Count)
        {
            throw new ArgumentException($"pairs has {pairs.Count} texts but texts has {texts.Count}; give one second text per row.", nameof(pairs));
        }

        bool isPair = pairs is not null;
        int specials = Template.SpecialTokenCount(isPair);
        if (maxLength < specials || maxLength <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength,
                $"maxLength must be positive and at least the {specials} special tokens added to each {(isPair ? "pair" : "text")}.");
        }

        var rows = new List<(int[] Ids, int[] Types)>(texts.Count);
        for (int i = 0; i < texts.Count; i++)
        {
            string text = texts[i] ?? throw new ArgumentException($"texts[{i}] is null.", nameof(texts));
            string? pair = isPair ? pairs![i] ?? throw new ArgumentException($"pairs[{i}] is null.", nameof(pairs)) : null;
            var first = new List<int>(EncodeText(text));
            List<int>? second = pair is null ? null : new List<int>(EncodeText(pair));
            Truncation.LongestFirst(first, second, maxLength - specials);
            rows.Add(Frame(first, second));
        }

        int length = padding == PaddingMode.MaxLength ? maxLength : rows.Count == 0 ? 0 : rows.Max(r => r.Ids.Length);
        return Pad(rows, length);
    }

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeToIds(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        IReadOnlyList<int> ids = EncodeText(text);
        return addSpecialTokens ? Frame(ids, null).Ids : ids;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (!skipSpecialTokens)
        {
            return DecodeIds(ids);
        }

        HashSet<int> special = SpecialIdSet();
        return DecodeIds(ids.Where(id => !special.Contains(id)));
    }

    /// <summary>Encodes one text to ids without special tokens, truncation or padding.</summary>
    /// <param name="text">The text (never null).</param>
    /// <returns>The ids.</returns>
    protected abstract IReadOnlyList<int> EncodeText(string text);

    /// <summary>Decodes ids (already stripped of special tokens when the caller asked so) to text.</summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    protected abstract string DecodeIds(IEnumerable<int> ids);

    /// <summary>The ids <see cref="Decode"/> drops when asked to skip special tokens.</summary>
    /// <returns>A new set holding every special token id.</returns>
    protected virtual HashSet<int> SpecialIdSet()
    {
        // Like Hugging Face's skip_special_tokens: framing, padding, mask and unknown ids all go.
        var set = new HashSet<int> { SpecialTokens.Pad };
        foreach (int? id in new[] { SpecialTokens.Bos, SpecialTokens.Eos, SpecialTokens.Unk, SpecialTokens.Mask })
        {
            if (id is int value)
            {
                set.Add(value);
            }
        }

        return set;
    }

    private (int[] Ids, int[] Types) Frame(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        var ids = new List<int>(first.Count + (second?.Count ?? 0) + Template.SpecialTokenCount(second is not null));
        ids.AddRange(Template.Prefix);
        ids.AddRange(first);
        if (second is null)
        {
            ids.AddRange(Template.Suffix);
            return (ids.ToArray(), new int[ids.Count]);
        }

        ids.AddRange(Template.Separator);
        int firstSegmentEnd = ids.Count;
        ids.AddRange(second);
        ids.AddRange(Template.Suffix);
        var types = new int[ids.Count];
        Array.Fill(types, Template.SecondSegmentTypeId, firstSegmentEnd, ids.Count - firstSegmentEnd);
        return (ids.ToArray(), types);
    }

    private TokenizedBatch Pad(List<(int[] Ids, int[] Types)> rows, int length)
    {
        long cells = (long)rows.Count * length;
        var ids = new long[cells];
        var mask = new long[cells];
        var types = new long[cells];

        // Padding goes on the right; a pad id rather than 0 keeps decoding and embedding lookups meaningful.
        Array.Fill(ids, SpecialTokens.Pad);
        for (int r = 0; r < rows.Count; r++)
        {
            int offset = r * length;
            (int[] rowIds, int[] rowTypes) = rows[r];
            for (int t = 0; t < rowIds.Length; t++)
            {
                ids[offset + t] = rowIds[t];
                mask[offset + t] = 1;
                types[offset + t] = rowTypes[t];
            }
        }

        return new TokenizedBatch(ids, mask, types, rows.Count, length);
    }
}
