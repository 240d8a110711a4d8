using Microsoft.ML.Peft.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// Self-attention followed by its output projection, dropout, residual and LayerNorm (post-norm).
/// HF names: <c>attention.self.*</c>, <c>attention.output.dense</c>, <c>attention.output.LayerNorm</c>.
/// </summary>
public sealed class BertAttention : nn.Module
{
    readonly BertSelfAttention self;
    readonly BertResidualOutput output;

    /// <summary>Creates the block for <paramref name="config"/>.</summary>
    public BertAttention(BertConfig config) : base("attention")
    {
        self = new BertSelfAttention(config);
        output = new BertResidualOutput(config.HiddenSize, config.HiddenSize, config);
        RegisterComponents();
    }

    /// <summary>(B, T, hidden) to (B, T, hidden), or (B, 1, hidden) with <paramref name="firstTokenOnly"/>.</summary>
    /// <param name="hidden">(B, T, hidden) input states.</param>
    /// <param name="mask">Boolean key mask, as in <see cref="BertSelfAttention.forward"/>.</param>
    /// <param name="prefix">Optional key/value prefix (prefix tuning), as in <see cref="BertSelfAttention.forward"/>.</param>
    /// <param name="firstTokenOnly">
    /// Whether only the first position's output is wanted: it attends over every key as usual, and the output
    /// projection and residual run on that position alone.
    /// </param>
    public Tensor forward(Tensor hidden, Tensor? mask, KeyValuePrefix? prefix = null, bool firstTokenOnly = false)
    {
        using var context = self.forward(hidden, mask, prefix, firstTokenOnly);  // (B, 1 or T, hidden)
        using var residual = firstTokenOnly ? BertSelfAttention.FirstPosition(hidden) : null;  // (B, 1, hidden)
        return output.forward(context, residual ?? hidden);
    }
}

/// <summary>
/// <c>LayerNorm(dropout(dense(x)) + residual)</c>: the output sub-layer shared by the attention block
/// (<c>attention.output</c>) and the feed-forward block (<c>output</c>).
/// </summary>
public sealed class BertResidualOutput : nn.Module
{
    readonly nn.Module<Tensor, Tensor> dense;  // a Linear, or a Linear4bit after ModuleSurgery (QLoRA)
    readonly LayerNorm LayerNorm;
    readonly FastDropoutLayer dropout;

    /// <summary>Creates a dense projection from <paramref name="inFeatures"/> to <paramref name="outFeatures"/>.</summary>
    public BertResidualOutput(int inFeatures, int outFeatures, BertConfig config) : base("output")
    {
        dense = nn.Linear(inFeatures, outFeatures, device: ModelConstruction.LinearDevice);
        LayerNorm = nn.LayerNorm(outFeatures, config.LayerNormEps);
        dropout = new FastDropoutLayer(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>(B, T, in) and residual (B, T, out) to (B, T, out).</summary>
    public Tensor forward(Tensor x, Tensor residual)
    {
        using var projected = RowLinear.Call(dense, x);
        if (is_grad_enabled())
        {
            using var sum = dropout.AddDropped(residual, projected);  // residual + dropout(projected) in one pass
            return LayerNorm.forward(sum);
        }
        // Without autograd the sum can go into the (dropped) projection's buffer: one (B, T, out) allocation less per call.
        using var dropped = dropout.forward(projected);
        dropped.add_(residual);
        return LayerNorm.forward(dropped);
    }
}
