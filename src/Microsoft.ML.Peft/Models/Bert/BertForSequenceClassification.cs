using Microsoft.ML.Peft.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>A text classifier: token ids in, class logits (B, num_labels) out.</summary>
public interface ISequenceClassifier
{
    /// <summary>The encoder under the head.</summary>
    BertModel Encoder { get; }

    /// <summary>Number of classes.</summary>
    int NumLabels { get; }

    /// <summary>(B, T) ids, mask and token types to (B, num_labels) logits.</summary>
    Tensor Logits(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null);
}

/// <summary>
/// BERT with Hugging Face's sequence-classification head: pooler output, dropout, then
/// <c>classifier</c> (Linear hidden to num_labels). Keys: <c>bert.*</c>, <c>classifier.weight/bias</c>.
/// </summary>
public sealed class BertForSequenceClassification : nn.Module, ISequenceClassifier
{
    readonly BertModel bert;
    readonly FastDropoutLayer dropout;
    readonly Linear classifier;

    /// <summary>Creates the model with a freshly initialised head of <paramref name="numLabels"/> classes.</summary>
    public BertForSequenceClassification(BertConfig config, int numLabels) : base(nameof(BertForSequenceClassification))
    {
        if (numLabels < 1) throw new ArgumentOutOfRangeException(nameof(numLabels), numLabels, "A classifier needs at least one label.");
        NumLabels = numLabels;
        bert = new BertModel(config);
        dropout = new FastDropoutLayer(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, numLabels);
        RegisterComponents();
        BertInitialization.Apply(classifier, config.InitializerRange);
    }

    /// <inheritdoc/>
    public BertModel Encoder => bert;

    /// <inheritdoc/>
    public int NumLabels { get; }

    /// <inheritdoc/>
    public Tensor Logits(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null)
    {
        var pooled = bert.forward(inputIds, attentionMask, tokenTypeIds, firstTokenOnly: true).PoolerOutput!;  // [CLS] only
        return classifier.call(dropout.forward(pooled));
    }
}

/// <summary>
/// RoBERTa with Hugging Face's classification head on the first token (<c>&lt;s&gt;</c>):
/// dropout, <c>classifier.dense</c>, tanh, dropout, <c>classifier.out_proj</c>. The encoder has no pooler.
/// Keys: <c>roberta.*</c>, <c>classifier.dense.*</c>, <c>classifier.out_proj.*</c>.
/// </summary>
public sealed class RobertaForSequenceClassification : nn.Module, ISequenceClassifier
{
    readonly BertModel roberta;
    readonly RobertaClassificationHead classifier;

    /// <summary>Creates the model with a freshly initialised head of <paramref name="numLabels"/> classes.</summary>
    public RobertaForSequenceClassification(BertConfig config, int numLabels) : base(nameof(RobertaForSequenceClassification))
    {
        if (numLabels < 1) throw new ArgumentOutOfRangeException(nameof(numLabels), numLabels, "A classifier needs at least one label.");
        NumLabels = numLabels;
        roberta = new BertModel(config, addPoolingLayer: false);
        classifier = new RobertaClassificationHead(config, numLabels);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public BertModel Encoder => roberta;

    /// <inheritdoc/>
    public int NumLabels { get; }

    /// <inheritdoc/>
    public Tensor Logits(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null) =>
        classifier.forward(roberta.forward(inputIds, attentionMask, tokenTypeIds, firstTokenOnly: true).LastHiddenState);  // <s> only
}

/// <summary>RoBERTa's head: <c>out_proj(dropout(tanh(dense(dropout(h[:, 0])))))</c>.</summary>
public sealed class RobertaClassificationHead : nn.Module<Tensor, Tensor>
{
    readonly Linear dense, out_proj;
    readonly FastDropoutLayer dropout;

    /// <summary>Creates the head.</summary>
    public RobertaClassificationHead(BertConfig config, int numLabels) : base("classifier")
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        out_proj = nn.Linear(config.HiddenSize, numLabels);
        dropout = new FastDropoutLayer(config.ClassifierDropout ?? config.HiddenDropoutProb);
        RegisterComponents();
        BertInitialization.Apply(this, config.InitializerRange);
    }

    /// <summary>(B, T, hidden) to (B, num_labels).</summary>
    public override Tensor forward(Tensor hidden) =>
        out_proj.call(dropout.forward(dense.call(dropout.forward(hidden.select(1, 0))).tanh()));
}
