namespace Microsoft.ML.Peft.Onnx.Bert;

/// <summary>
/// Names the matched weights exactly as Hugging Face <c>BertModel.state_dict()</c> does (no "bert." prefix),
/// in the same order, so the folder loads with <c>BertModel.from_pretrained</c> and with this library.
/// </summary>
internal static class BertStateDict
{
    public static List<ImportedTensor> Build(BertMatch match)
    {
        var list = new List<ImportedTensor>();
        var e = match.Embeddings;
        Embedding(list, "embeddings.word_embeddings", e.Word);
        Embedding(list, "embeddings.position_embeddings", e.Position);
        Embedding(list, "embeddings.token_type_embeddings", e.TokenType);
        Norm(list, "embeddings.LayerNorm", e.Norm);
        for (int i = 0; i < match.Layers.Count; i++)
        {
            var l = match.Layers[i];
            string p = $"encoder.layer.{i}.";
            Linear(list, p + "attention.self.query", l.Query);
            Linear(list, p + "attention.self.key", l.Key);
            Linear(list, p + "attention.self.value", l.Value);
            Linear(list, p + "attention.output.dense", l.AttentionOutput);
            Norm(list, p + "attention.output.LayerNorm", l.AttentionNorm);
            Linear(list, p + "intermediate.dense", l.Intermediate);
            Linear(list, p + "output.dense", l.Output);
            Norm(list, p + "output.LayerNorm", l.OutputNorm);
        }
        if (match.Pooler is { } pooler) Linear(list, "pooler.dense", pooler);
        return list;
    }

    static void Embedding(List<ImportedTensor> list, string prefix, EmbeddingPart part) =>
        list.Add(new(prefix + ".weight", part.Source, new[] { part.Rows, part.Hidden }, part.Table, false));

    static void Norm(List<ImportedTensor> list, string prefix, LayerNormPart part)
    {
        list.Add(new(prefix + ".weight", part.GammaSource, new long[] { part.Gamma.Length }, part.Gamma, false));
        list.Add(new(prefix + ".bias", part.BetaSource ?? "", new long[] { part.Beta.Length }, part.Beta, false));
    }

    static void Linear(List<ImportedTensor> list, string prefix, LinearPart part)
    {
        list.Add(new(prefix + ".weight", part.WeightSource, new long[] { part.OutFeatures, part.InFeatures }, part.Weight, part.Transposed));
        list.Add(new(prefix + ".bias", part.BiasSource ?? "", new long[] { part.OutFeatures }, part.Bias, false));
    }
}
