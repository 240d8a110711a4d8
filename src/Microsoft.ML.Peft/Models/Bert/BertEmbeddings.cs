using Microsoft.ML.Peft.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// Word + position + token-type embeddings, then LayerNorm and dropout. HF names:
/// <c>embeddings.word_embeddings</c>, <c>.position_embeddings</c>, <c>.token_type_embeddings</c>, <c>.LayerNorm</c>.
/// </summary>
public sealed class BertEmbeddings : nn.Module
{
    readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    readonly LayerNorm LayerNorm;
    readonly FastDropoutLayer dropout;
    readonly BertConfig config;

    /// <summary>Creates the embeddings for <paramref name="config"/>.</summary>
    public BertEmbeddings(BertConfig config) : base("embeddings")
    {
        this.config = config;
        // RoBERTa keeps the padding row of the position table at zero, as HF does with padding_idx.
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = config.IsRoberta
            ? nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, padding_idx: config.PadTokenId)
            : nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = new FastDropoutLayer(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>The token embedding table (vocab, hidden); prompt methods read it.</summary>
    public Embedding WordEmbeddings => word_embeddings;

    /// <summary>Zeroes the embedding rows of the padding id (word table; RoBERTa's position table too).</summary>
    internal void ZeroPaddingRows()
    {
        using var noGrad = no_grad();
        word_embeddings.weight![config.PadTokenId].zero_();
        if (config.IsRoberta) position_embeddings.weight![config.PadTokenId].zero_();
    }

    /// <summary>Embeds (B, T) token ids; returns (B, T, hidden).</summary>
    /// <param name="inputIds">(B, T) int64 token ids.</param>
    /// <param name="tokenTypeIds">(B, T) int64 segment ids; zeros when null.</param>
    /// <param name="inputsEmbeds">(B, T, hidden) embeddings to use instead of looking up <paramref name="inputIds"/>.</param>
    public Tensor forward(Tensor inputIds, Tensor? tokenTypeIds = null, Tensor? inputsEmbeds = null)
    {
        long length = inputIds.shape[1];
        if (length > config.MaxPositionEmbeddings - (config.IsRoberta ? config.PadTokenId + 1 : 0))
            throw new ArgumentException($"Sequence length {length} exceeds the model's {config.MaxPositionEmbeddings} positions; truncate the input.");

        using var positions = PositionIds(inputIds);
        using var types = tokenTypeIds is null ? zeros_like(inputIds) : null;
        // The lookups are released once summed; the second sum goes in place into the first one's fresh
        // buffer (an add does not keep its output for backward, so this is autograd-safe).
        using var words = inputsEmbeds is null ? word_embeddings.forward(inputIds) : null;
        using var positional = position_embeddings.forward(positions);
        using var typed = token_type_embeddings.forward(tokenTypeIds ?? types!);
        using var x = (words ?? inputsEmbeds!) + positional;
        x.add_(typed);
        return dropout.forward(LayerNorm.forward(x));
    }

    /// <summary>
    /// BERT: 0..T-1. RoBERTa: real tokens count from pad_token_id + 1 and padding keeps pad_token_id,
    /// so that left padding does not shift positions (HF <c>create_position_ids_from_input_ids</c>).
    /// </summary>
    Tensor PositionIds(Tensor inputIds)
    {
        if (!config.IsRoberta)
            return arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        using var scope = NewDisposeScope();
        var isToken = inputIds.ne(config.PadTokenId).to(ScalarType.Int64);
        return (isToken.cumsum(1) * isToken + config.PadTokenId).MoveToOuterDisposeScope();
    }
}
