using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Peft.Tasks.TextClassification;
using Microsoft.ML.Peft.Training;
using Microsoft.ML.Runtime;

// mlContext.Model.Load finds the loader by the signature in the model's header and loads this assembly by the name
// saved next to it, so an app that loads a model needs no registration call.
[assembly: LoadableClass(typeof(PeftTextClassificationTransformer), null, typeof(SignatureLoadModel),
    "PEFT text classifier", PeftTextClassificationTransformer.LoaderSignature)]

namespace Microsoft.ML.Peft.Tasks.TextClassification;

public sealed partial class PeftTextClassificationTransformer
{
    internal const string LoaderSignature = "PeftTextClassifier";
    internal const string ConfigEntry = "Config.json";
    internal const string HistoryEntry = "TrainingHistory.json";
    internal const string AdapterPrefix = "Adapter.";
    internal const string BaseModelPrefix = "BaseModel.";
    const string DisplayName = "PEFT text classifier";

    // Bump VerWrittenCur on any change of the layout below; VerWeCanReadBack is the oldest layout Create still reads.
    static VersionInfo GetVersionInfo() => new(
        modelSignature: "PEFTTXCL",
        verWrittenCur: 0x00010001,
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderAssemblyName: typeof(PeftTextClassificationTransformer).Assembly.FullName,
        loaderSignature: LoaderSignature);

    /// <summary>What <c>Config.json</c> in the model zip holds.</summary>
    internal sealed record SavedConfig(
        int FormatVersion, string TextColumnName, int BatchSize, string[] ClassNames, int MaxLength, string PeftType,
        bool BFloat16, BaseModelReference BaseModel, bool BaseModelEmbedded, string[] BaseModelFiles, string[] AdapterFiles,
        string? PairColumnName = null);

    private protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());
        using var adapter = new ScratchFolder("save");
        ExportAdapter(adapter.Path);
        string[] adapterFiles = ModelFileEntries.Save(ctx, AdapterPrefix, adapter.Path);
        // Embed what the loader reads (config, weights, tokenizer files): every top-level file of the folder.
        string[] baseFiles = EmbedBaseModel ? ModelFileEntries.Save(ctx, BaseModelPrefix, _classifier.BaseModel.Directory) : [];
        ModelStreams.SaveJson(ctx, ConfigEntry, new SavedConfig(1, TextColumnName, BatchSize, [.. ClassNames], MaxLength, PeftType,
            _classifier.BFloat16, _baseModel, EmbedBaseModel, baseFiles, adapterFiles, PairColumnName));
        if (TrainingHistory is not null)
            ctx.SaveTextStream(HistoryEntry, writer => writer.Write(TrainingHistory.ToJson()));
    }

    /// <summary>ML.NET's loader entry point (found through the LoadableClass attribute above).</summary>
    static PeftTextClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.CheckAtModel(GetVersionInfo());
        var config = ModelStreams.LoadJson<SavedConfig>(ctx, ConfigEntry, DisplayName);
        if (config.ClassNames is not { Length: > 0 } || config.BaseModel is null || config.AdapterFiles is not { Length: > 0 }
            || string.IsNullOrEmpty(config.TextColumnName) || config.BatchSize < 1 || config.MaxLength < 2)
            throw new InvalidDataException($"{DisplayName}: entry '{ConfigEntry}' of the model file is incomplete; the file is corrupt.");

        string baseFolder = config.BaseModelEmbedded
            ? EmbeddedBaseModel.Extract(ctx, BaseModelPrefix, config.BaseModelFiles ?? [], config.BaseModel, DisplayName)
            : config.BaseModel.Path;
        config.BaseModel.Verify(baseFolder);
        var pretrained = PretrainedModel.FromDirectory(baseFolder);

        using var adapter = new ScratchFolder("load");
        ModelFileEntries.Restore(ctx, AdapterPrefix, config.AdapterFiles, adapter.Path, DisplayName);
        var classifier = AdaptedClassifier.Create(pretrained, config.ClassNames.Length, TorchDevices.Resolve(), config.MaxLength,
            config.BFloat16, model => PeftMethods.Load(model, adapter.Path));

        TrainingHistory? history = null;
        ctx.TryLoadTextStream(HistoryEntry, reader => history = TrainingHistory.FromJson(reader.ReadToEnd()));
        return new PeftTextClassificationTransformer(config.TextColumnName, config.PairColumnName, config.BatchSize, config.ClassNames,
            classifier, config.BaseModel, config.BaseModelEmbedded, history);
    }
}
