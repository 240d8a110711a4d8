namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// The ids of the special tokens a model was trained with. A model family calls them differently
/// (BERT: <c>[CLS]</c>/<c>[SEP]</c>; RoBERTa: <c>&lt;s&gt;</c>/<c>&lt;/s&gt;</c>; GPT-2: <c>&lt;|endoftext|&gt;</c>),
/// so they are exposed by role; a role the vocabulary lacks is <see langword="null"/>.
/// </summary>
/// <param name="Bos">Id that starts a sequence: <c>[CLS]</c> for BERT, <c>&lt;s&gt;</c> for RoBERTa, <c>&lt;|endoftext|&gt;</c> for GPT-2.</param>
/// <param name="Eos">Id that ends a sequence or separates a pair: <c>[SEP]</c> for BERT, <c>&lt;/s&gt;</c> for RoBERTa, <c>&lt;|endoftext|&gt;</c> for GPT-2.</param>
/// <param name="Pad">Id written in padding positions (their attention mask is 0).</param>
/// <param name="Unk">Id of unknown words, when the vocabulary has one.</param>
/// <param name="Mask">Id of the masked-language-model mask token, when the vocabulary has one.</param>
public sealed record SpecialTokenIds(int? Bos, int? Eos, int Pad, int? Unk, int? Mask)
{
    /// <summary>The classification token id (same as <see cref="Bos"/>; named after BERT's <c>[CLS]</c>).</summary>
    public int? Cls => Bos;

    /// <summary>The separator token id (same as <see cref="Eos"/>; named after BERT's <c>[SEP]</c>).</summary>
    public int? Sep => Eos;
}
