using Microsoft.ML.Peft.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>The stack of transformer blocks. HF names: <c>encoder.layer.{i}.*</c>.</summary>
public sealed class BertEncoder : nn.Module
{
    readonly ModuleList<BertLayer> layer;

    /// <summary>Creates <c>num_hidden_layers</c> blocks.</summary>
    public BertEncoder(BertConfig config) : base("encoder")
    {
        layer = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    /// <summary>The blocks, in order.</summary>
    public IList<BertLayer> Layers => layer;

    /// <summary>(B, T, hidden) to (B, T, hidden), or to (B, 1, hidden) with <paramref name="firstTokenOnly"/>.</summary>
    /// <param name="hidden">(B, T, hidden) embedded input.</param>
    /// <param name="mask">Boolean key mask, as in <see cref="BertSelfAttention.forward"/>.</param>
    /// <param name="prefixes">Optional per-block key/value prefixes (prefix tuning), one per block.</param>
    /// <param name="firstTokenOnly">
    /// Whether only the first position's final state is wanted (a classification head's [CLS] or &lt;s&gt;): the last
    /// block then computes that position alone (see <see cref="BertAttention.forward"/>): the same state as the full
    /// forward, without the last block's work other than its keys and values.
    /// </param>
    public Tensor forward(Tensor hidden, Tensor? mask, IReadOnlyList<KeyValuePrefix>? prefixes = null, bool firstTokenOnly = false)
    {
        // Without autograd, each block's intermediates can go as soon as the block is done:
        // a dispose scope per block keeps inference memory at one block's worth.
        bool freeEachBlock = !is_grad_enabled();
        for (int i = 0; i < layer.Count; i++)
        {
            var block = layer[i];
            var prefix = prefixes?[i];
            bool firstOnly = firstTokenOnly && i == layer.Count - 1;
            if (!freeEachBlock) { hidden = block.forward(hidden, mask, prefix, firstOnly); continue; }
            using var scope = NewDisposeScope();
            hidden = block.forward(hidden, mask, prefix, firstOnly).MoveToOuterDisposeScope();
        }
        return hidden;
    }
}

/// <summary>Dense + tanh on the first token's state. HF name: <c>pooler.dense</c>.</summary>
public sealed class BertPooler : nn.Module
{
    readonly nn.Module<Tensor, Tensor> dense;  // a Linear, or a Linear4bit after ModuleSurgery (QLoRA)

    /// <summary>Creates the pooler for <paramref name="config"/>.</summary>
    public BertPooler(BertConfig config) : base("pooler")
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModelConstruction.LinearDevice);
        RegisterComponents();
    }

    /// <summary>(B, T, hidden) to (B, hidden).</summary>
    public Tensor forward(Tensor hidden) => dense.call(hidden.select(1, 0)).tanh();
}
