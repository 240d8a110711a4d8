using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.MLNet;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>
/// How a <see cref="PeftTextGenerationTransformer"/> lives in ML.NET's model zip: a JSON config (columns, options,
/// base folder and its SHA-256), and the adapter's own files (<c>adapter_config.json</c>,
/// <c>adapter_model.safetensors</c>, PEFT's format) as binary entries. The base weights are not copied: loading
/// reopens the base folder and refuses one whose hash changed.
/// </summary>
internal static class GenerationModelPersistence
{
    const string ConfigEntry = "Config.json", AdapterPrefix = "Adapter.";
    const string DisplayName = "PEFT text generator";

    static VersionInfo GetVersionInfo() => new(
        modelSignature: "PEFTTGEN",
        verWrittenCur: 0x00010001,
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderAssemblyName: typeof(PeftTextGenerationTransformer).Assembly.FullName,
        loaderSignature: PeftTextGenerationTransformer.LoaderSignature);

    sealed record Config(int FormatVersion, string BaseModelDirectory, string BaseModelSha256, string PeftType,
                         TextGeneratorTrainerOptions Options, string[] AdapterFiles);

    public static void Save(ModelSaveContext ctx, PeftTextGenerationTransformer transformer)
    {
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());
        string folder = Directory.CreateTempSubdirectory("peft-gen-save-").FullName;
        try
        {
            transformer.State.Peft.SaveAdapter(folder);
            var files = Directory.GetFiles(folder).Select(Path.GetFileName).OfType<string>().OrderBy(f => f, StringComparer.Ordinal).ToArray();
            var state = transformer.State;
            ModelStreams.SaveJson(ctx, ConfigEntry, new Config(1, state.Decoder.Directory, state.BaseHash, state.Peft.PeftType, transformer.Options, files));
            foreach (var file in files)
            {
                byte[] bytes = File.ReadAllBytes(Path.Combine(folder, file));
                ctx.SaveBinaryStream(AdapterPrefix + file, writer => { writer.Write(bytes.Length); writer.Write(bytes); });
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static PeftTextGenerationTransformer Load(IHostEnvironment env, ModelLoadContext ctx)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.CheckAtModel(GetVersionInfo());
        var config = ModelStreams.LoadJson<Config>(ctx, ConfigEntry, DisplayName);
        if (!Directory.Exists(config.BaseModelDirectory))
            throw new DirectoryNotFoundException($"{DisplayName}: the base model folder '{config.BaseModelDirectory}' the model was trained on does not exist here; copy it there (SHA-256 {config.BaseModelSha256}).");
        string hash = GenerationModelState.HashBase(config.BaseModelDirectory);
        if (hash != config.BaseModelSha256)
            throw new InvalidDataException($"{DisplayName}: the base model in '{config.BaseModelDirectory}' changed since training (SHA-256 {hash}, expected {config.BaseModelSha256}); the adapter would not fit it.");
        string folder = Directory.CreateTempSubdirectory("peft-gen-load-").FullName;
        try
        {
            foreach (var file in config.AdapterFiles)
                if (!ctx.TryLoadBinaryStream(AdapterPrefix + file, reader => File.WriteAllBytes(Path.Combine(folder, file), reader.ReadBytes(reader.ReadInt32()))))
                    throw new InvalidDataException($"{DisplayName}: the model file has no entry '{AdapterPrefix + file}'; it is incomplete or corrupt.");
            var decoder = PretrainedDecoder.FromDirectory(config.BaseModelDirectory);
            var model = decoder.LoadModel();
            var peft = PeftMethods.Load((nn.Module)model, folder);
            ((nn.Module)model).eval();
            return new PeftTextGenerationTransformer(new GenerationModelState(decoder, peft, hash), config.Options);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    static readonly JsonSerializerOptions Json = new();

    public static GenerationOptions Copy(GenerationOptions options) =>
        JsonSerializer.Deserialize<GenerationOptions>(JsonSerializer.Serialize(options, Json), Json)!;

    public static TextGeneratorTrainerOptions CopyOptions(TextGeneratorTrainerOptions options) =>
        JsonSerializer.Deserialize<TextGeneratorTrainerOptions>(JsonSerializer.Serialize(options, Json), Json)!;
}
