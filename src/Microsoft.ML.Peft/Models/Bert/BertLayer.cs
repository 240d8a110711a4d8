using Microsoft.ML.Peft.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Bert;

/// <summary>
/// One transformer block: attention, then the feed-forward network.
/// HF names: <c>encoder.layer.{i}.attention.*</c>, <c>.intermediate.dense</c>, <c>.output.dense</c>, <c>.output.LayerNorm</c>.
/// </summary>
public sealed class BertLayer : nn.Module
{
    readonly BertAttention attention;
    readonly BertIntermediate intermediate;
    readonly BertResidualOutput output;

    /// <summary>Creates the block for <paramref name="config"/>.</summary>
    public BertLayer(BertConfig config) : base("layer")
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertResidualOutput(config.IntermediateSize, config.HiddenSize, config);
        RegisterComponents();
    }

    /// <summary>
    /// (B, T, hidden) to (B, T, hidden), or to (B, 1, hidden) with <paramref name="firstTokenOnly"/> (see
    /// <see cref="BertAttention.forward"/>); <paramref name="prefix"/> as in <see cref="BertSelfAttention.forward"/>.
    /// </summary>
    public Tensor forward(Tensor hidden, Tensor? mask, KeyValuePrefix? prefix = null, bool firstTokenOnly = false)
    {
        // Each intermediate is released once consumed, so inference holds one (B, T, intermediate) tensor, not two.
        using var attended = attention.forward(hidden, mask, prefix, firstTokenOnly);
        using var expanded = intermediate.forward(attended);
        return output.forward(expanded, attended);
    }
}

/// <summary>The feed-forward expansion and activation. HF name: <c>intermediate.dense</c>.</summary>
public sealed class BertIntermediate : nn.Module
{
    readonly nn.Module<Tensor, Tensor> dense;  // a Linear, or a Linear4bit after ModuleSurgery (QLoRA)
    readonly string activation;

    /// <summary>Creates the expansion for <paramref name="config"/>.</summary>
    public BertIntermediate(BertConfig config) : base("intermediate")
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize, device: ModelConstruction.LinearDevice);
        activation = config.HiddenAct;
        RegisterComponents();
    }

    /// <summary>(B, T, hidden) to (B, T, intermediate).</summary>
    public Tensor forward(Tensor hidden)
    {
        using var projected = RowLinear.Call(dense, hidden);
        return Activations.Apply(activation, projected);
    }
}
