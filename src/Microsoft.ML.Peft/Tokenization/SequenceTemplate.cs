namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// Where special tokens go around one text or a pair of texts, and which token type id the second text gets.
/// Single: <c>Prefix a Suffix</c>; pair: <c>Prefix a Separator b Suffix</c>.
/// </summary>
/// <param name="Prefix">Ids written before the first text (BERT: <c>[CLS]</c>; RoBERTa: <c>&lt;s&gt;</c>).</param>
/// <param name="Separator">Ids written between the two texts of a pair (BERT: <c>[SEP]</c>; RoBERTa: <c>&lt;/s&gt;&lt;/s&gt;</c>).</param>
/// <param name="Suffix">Ids written after the last text (BERT: <c>[SEP]</c>; RoBERTa: <c>&lt;/s&gt;</c>).</param>
/// <param name="SecondSegmentTypeId">Token type id of the second text and the suffix that follows it (1 for BERT, 0 for RoBERTa, which has no segment embeddings to speak of).</param>
public sealed record SequenceTemplate(int[] Prefix, int[] Separator, int[] Suffix, int SecondSegmentTypeId)
{
    /// <summary>A template that adds nothing (GPT-2 style): texts are concatenated as they are.</summary>
    public static SequenceTemplate None { get; } = new([], [], [], 0);

    /// <summary>BERT framing: <c>[CLS] a [SEP]</c> and <c>[CLS] a [SEP] b [SEP]</c>, second segment type id 1.</summary>
    /// <param name="cls">Id of <c>[CLS]</c>.</param>
    /// <param name="sep">Id of <c>[SEP]</c>.</param>
    /// <returns>The template.</returns>
    public static SequenceTemplate Bert(int cls, int sep) => new([cls], [sep], [sep], 1);

    /// <summary>RoBERTa framing: <c>&lt;s&gt; a &lt;/s&gt;</c> and <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c>, all type ids 0.</summary>
    /// <param name="bos">Id of <c>&lt;s&gt;</c>.</param>
    /// <param name="eos">Id of <c>&lt;/s&gt;</c>.</param>
    /// <returns>The template.</returns>
    public static SequenceTemplate Roberta(int bos, int eos) => new([bos], [eos, eos], [eos], 0);

    /// <summary>Number of special tokens this template adds to one text, or to a pair when <paramref name="pair"/> is true.</summary>
    /// <param name="pair">Whether the input is a pair of texts.</param>
    /// <returns>The count of added ids.</returns>
    public int SpecialTokenCount(bool pair) => Prefix.Length + Suffix.Length + (pair ? Separator.Length : 0);
}
