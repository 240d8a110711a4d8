using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model;
using Microsoft.ML.Runtime;
using Microsoft.ML.Peft.MLNet.Toy;

// Lets mlContext.Model.Load find the loader below by the signature saved in the model's header; ML.NET loads
// this assembly by the name saved next to it, so a fresh process needs no registration call.
[assembly: LoadableClass(typeof(KeywordClassifierTransformer), null, typeof(SignatureLoadModel),
    "PEFT toy keyword classifier", KeywordClassifierTransformer.LoaderSignature)]

namespace Microsoft.ML.Peft.MLNet.Toy;

/// <summary>
/// A toy classifier built on <see cref="BatchedTextTransformer{TResult}"/>, to prove the ML.NET plumbing the
/// real text classifiers stand on: <c>Score</c> / <c>PredictedLabel</c> outputs, batched lazy scoring, and a model
/// that saves into and loads from ML.NET's model zip (version info, JSON config, float weight blob).
/// </summary>
internal sealed class KeywordClassifierTransformer : BatchedTextTransformer<float[]>
{
    internal const string LoaderSignature = "PeftKeywordClassifier";
    internal const string ConfigEntry = "Config.json";
    internal const string WeightsEntry = "Weights.bin";
    const string DisplayName = "Keyword classifier";

    readonly KeywordModel _model;
    int _scoringCalls, _scoredRows;

    internal KeywordClassifierTransformer(string textColumnName, int batchSize, string[] classNames, KeywordModel model)
        : base(textColumnName, batchSize)
    {
        ClassNames = classNames;
        _model = model;
        OutputColumns = MulticlassOutputColumns.Create<float[]>(classNames, scores => scores);
    }

    /// <summary>The class names, in key order.</summary>
    public string[] ClassNames { get; }

    /// <summary>How many times the batch scorer ran (tests check laziness and batching with it).</summary>
    public int ScoringCalls => Volatile.Read(ref _scoringCalls);

    /// <summary>How many rows the batch scorer saw in total.</summary>
    public int ScoredRows => Volatile.Read(ref _scoredRows);

    private protected override IReadOnlyList<BatchOutputColumn<float[]>> OutputColumns { get; }

    // Stateless apart from the counters (updated atomically), so concurrent cursors need no lock.
    private protected override IReadOnlyList<float[]> ScoreBatch(IReadOnlyList<string> texts)
    {
        Interlocked.Increment(ref _scoringCalls);
        Interlocked.Add(ref _scoredRows, texts.Count);
        return texts.Select(_model.Score).ToArray();
    }

    // Versions: bump VerWrittenCur on any format change; VerWeCanReadBack is the oldest format Create still reads.
    static VersionInfo GetVersionInfo() => new(
        modelSignature: "PEFTKWCL",
        verWrittenCur: 0x00010001,
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderAssemblyName: typeof(KeywordClassifierTransformer).Assembly.FullName,
        loaderSignature: LoaderSignature);

    sealed record Config(int FormatVersion, string TextColumnName, int BatchSize, string[] ClassNames, string[] Keywords);

    private protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());
        ModelStreams.SaveJson(ctx, ConfigEntry, new Config(1, TextColumnName, BatchSize, ClassNames, _model.Keywords));
        ModelStreams.SaveFloats(ctx, WeightsEntry, _model.Weights);
    }

    /// <summary>ML.NET's loader entry point (found through the LoadableClass attribute above).</summary>
    static KeywordClassifierTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.CheckAtModel(GetVersionInfo());
        var config = ModelStreams.LoadJson<Config>(ctx, ConfigEntry, DisplayName);
        if (config.ClassNames is not { Length: > 0 } || config.Keywords is null || config.BatchSize < 1 || string.IsNullOrEmpty(config.TextColumnName))
            throw new InvalidDataException($"{DisplayName}: entry '{ConfigEntry}' of the model file is incomplete; the file is corrupt.");
        var weights = ModelStreams.LoadFloats(ctx, WeightsEntry, DisplayName, config.ClassNames.Length * (config.Keywords.Length + 1));
        var model = new KeywordModel(config.Keywords, config.ClassNames.Length, weights);
        return new KeywordClassifierTransformer(config.TextColumnName, config.BatchSize, config.ClassNames, model);
    }
}
