using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>What the encoder returns.</summary>
/// <param name="LastHiddenState">(B, T, hidden) contextual token states; (B, 1, hidden) when <see cref="FirstTokenOnly"/>.</param>
/// <param name="PoolerOutput">(B, hidden) tanh-projected first token, or null when the model has no pooler.</param>
public sealed record BertOutput(Tensor LastHiddenState, Tensor? PoolerOutput)
{
    /// <summary>
    /// Number of virtual tokens (prompt tuning, P-Tuning) put in front of the input; 0 without a prompt. They lead
    /// <see cref="LastHiddenState"/>, except with <see cref="FirstTokenOnly"/>, where it holds virtual token 0 alone.
    /// </summary>
    public int VirtualTokens { get; init; }

    /// <summary>Whether only the first position's state was computed (see <see cref="BertModel.forward"/>).</summary>
    public bool FirstTokenOnly { get; init; }

    /// <summary>(B, T, hidden): the states of the real tokens, without the <see cref="VirtualTokens"/> in front (a view).</summary>
    /// <exception cref="InvalidOperationException">Only the first position's state was computed.</exception>
    public Tensor TokenStates() => FirstTokenOnly
        ? throw new InvalidOperationException("This output holds only the first position's state (firstTokenOnly); encode without it for every token's state.")
        : LastHiddenState.narrow(1, VirtualTokens, LastHiddenState.shape[1] - VirtualTokens);
}

/// <summary>
/// A BERT-family encoder (BERT, RoBERTa) whose state-dict keys equal Hugging Face's
/// <c>BertModel</c>/<c>RobertaModel</c>: <c>embeddings.*</c>, <c>encoder.layer.{i}.*</c>, <c>pooler.dense.*</c>.
/// </summary>
public sealed partial class BertModel : nn.Module
{
    readonly BertEmbeddings embeddings;
    readonly BertEncoder encoder;
    readonly BertPooler? pooler;

    /// <summary>Creates a randomly initialised encoder (Hugging Face's initialisation) for <paramref name="config"/>.</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="addPoolingLayer">Whether to create <c>pooler.dense</c> (HF omits it in RoBERTa classifiers).</param>
    public BertModel(BertConfig config, bool addPoolingLayer = true) : base("bert")
    {
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        if (addPoolingLayer) pooler = new BertPooler(config);
        RegisterComponents();
        BertInitialization.Apply(this, config.InitializerRange);
    }

    /// <summary>The architecture.</summary>
    public BertConfig Config { get; }

    /// <summary>The embedding layer.</summary>
    public BertEmbeddings Embeddings => embeddings;

    /// <summary>The transformer blocks.</summary>
    public BertEncoder Encoder => encoder;

    /// <summary>Encodes a batch.</summary>
    /// <param name="inputIds">(B, T) int64 token ids.</param>
    /// <param name="attentionMask">(B, T) 1 for real tokens, 0 for padding; all ones when null.</param>
    /// <param name="tokenTypeIds">(B, T) segment ids; zeros when null.</param>
    /// <param name="firstTokenOnly">
    /// Whether only the first position's state is wanted, as by the pooler and the classification heads: the last block
    /// then computes that position alone (<see cref="BertEncoder.forward"/>), the pooler output is the same, and
    /// <see cref="BertOutput.LastHiddenState"/> is (B, 1, hidden). With a prompt, the first position is virtual token 0.
    /// </param>
    public BertOutput forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, bool firstTokenOnly = false)
    {
        if (Prompt is not null) return PromptedForward(Prompt, inputIds, attentionMask, tokenTypeIds, firstTokenOnly);  // BertModel.Prompt.cs
        var hidden = embeddings.forward(inputIds, tokenTypeIds);
        using var mask = attentionMask is null ? null : KeyMask(attentionMask);
        hidden = encoder.forward(hidden, mask, firstTokenOnly: firstTokenOnly);
        return new BertOutput(hidden, pooler?.forward(hidden)) { FirstTokenOnly = firstTokenOnly };
    }

    /// <summary>(B, T) 0/1 mask to the (B, 1, 1, T) boolean key mask that attention broadcasts over heads and queries.</summary>
    internal static Tensor KeyMask(Tensor attentionMask) =>
        attentionMask.to(ScalarType.Bool).view(attentionMask.shape[0], 1, 1, attentionMask.shape[1]);
}
