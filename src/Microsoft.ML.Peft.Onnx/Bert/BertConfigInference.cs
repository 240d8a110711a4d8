namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// Infers the <see cref="BertOnnxConfig"/> from the matched graph and checks that every weight has the
/// shape that configuration implies, so a mis-matched graph fails here rather than when the model loads.
/// </summary>
internal static class BertConfigInference
{
    public static BertOnnxConfig Infer(BertMatch match)
    {
        var e = match.Embeddings;
        int hidden = (int)e.Word.Hidden;
        var first = match.Layers[0];
        var config = new BertOnnxConfig(
            VocabSize: (int)e.Word.Rows,
            HiddenSize: hidden,
            NumHiddenLayers: match.Layers.Count,
            NumAttentionHeads: first.Heads,
            IntermediateSize: first.Intermediate.OutFeatures,
            MaxPositionEmbeddings: (int)e.Position.Rows,
            TypeVocabSize: (int)e.TokenType.Rows,
            LayerNormEps: BertOnnxConfig.WidenEpsilon(e.Norm.Epsilon),
            HiddenAct: first.Activation);

        Check(e.Position.Hidden == hidden && e.TokenType.Hidden == hidden, "embeddings",
              $"position/token-type tables have width {e.Position.Hidden}/{e.TokenType.Hidden}, word embeddings {hidden}");
        Check(e.Norm.Gamma.Length == hidden, "embeddings", $"LayerNorm has {e.Norm.Gamma.Length} weights, hidden size is {hidden}");
        for (int i = 0; i < match.Layers.Count; i++)
        {
            var l = match.Layers[i];
            string where = $"layer {i}";
            foreach (var (name, part, inF, outF) in new[]
            {
                ("query", l.Query, hidden, hidden), ("key", l.Key, hidden, hidden), ("value", l.Value, hidden, hidden),
                ("attention output", l.AttentionOutput, hidden, hidden),
                ("intermediate", l.Intermediate, hidden, config.IntermediateSize), ("output", l.Output, config.IntermediateSize, hidden),
            })
                Check(part.InFeatures == inF && part.OutFeatures == outF, where,
                      $"{name} Linear is [{part.OutFeatures}, {part.InFeatures}], expected [{outF}, {inF}]");
            Check(l.Heads == config.NumAttentionHeads, where, $"{l.Heads} attention heads, layer 0 has {config.NumAttentionHeads}");
            Check(l.Activation == config.HiddenAct, where, $"activation {l.Activation}, layer 0 uses {config.HiddenAct}");
            Check(l.AttentionNorm.Gamma.Length == hidden && l.OutputNorm.Gamma.Length == hidden, where, "LayerNorm width differs from the hidden size");
        }
        if (match.Pooler is { } p)
            Check(p.InFeatures == hidden && p.OutFeatures == hidden, "pooler", $"dense is [{p.OutFeatures}, {p.InFeatures}], expected [{hidden}, {hidden}]");
        Check(hidden % config.NumAttentionHeads == 0, "layer 0", $"{config.NumAttentionHeads} heads do not divide the hidden size {hidden}");
        return config;
    }

    static void Check(bool ok, string where, string what)
    {
        if (!ok) throw new OnnxGraphMismatchException($"{where}: {what}.");
    }
}
