using System.Text.Json;
using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// Named entries that our transformers keep next to their ML.NET model stream inside the model zip (a JSON
/// config, float weight blobs), with load errors that say which entry of which model is missing or broken.
/// </summary>
internal static class ModelStreams
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static void SaveJson<T>(ModelSaveContext ctx, string name, T value) =>
        ctx.SaveTextStream(name, writer => writer.Write(JsonSerializer.Serialize(value, Json)));

    public static T LoadJson<T>(ModelLoadContext ctx, string name, string modelName)
    {
        string? text = null;
        if (!ctx.TryLoadTextStream(name, reader => text = reader.ReadToEnd()))
            throw Missing(ctx, name, modelName);
        try
        {
            return JsonSerializer.Deserialize<T>(text!, Json) ?? throw new JsonException("the entry holds null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{modelName}: entry '{Path(ctx, name)}' of the model file is not valid JSON ({e.Message}); the file is corrupt.", e);
        }
    }

    /// <summary>Writes a float blob: its length, then the values (little-endian, as BinaryWriter writes them).</summary>
    public static void SaveFloats(ModelSaveContext ctx, string name, IReadOnlyList<float> values) =>
        ctx.SaveBinaryStream(name, writer =>
        {
            writer.Write(values.Count);
            foreach (float value in values)
                writer.Write(value);
        });

    public static float[] LoadFloats(ModelLoadContext ctx, string name, string modelName, int expectedLength)
    {
        float[]? values = null;
        bool found;
        try
        {
            found = ctx.TryLoadBinaryStream(name, reader =>
            {
                int length = reader.ReadInt32();
                if (length != expectedLength)
                    throw new InvalidDataException($"{modelName}: entry '{Path(ctx, name)}' holds {length} values; its config expects {expectedLength}. The file is corrupt.");
                values = new float[length];
                for (int i = 0; i < length; i++)
                    values[i] = reader.ReadSingle();
            });
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{modelName}: entry '{Path(ctx, name)}' of the model file is truncated; the file is corrupt.", e);
        }
        return found ? values! : throw Missing(ctx, name, modelName);
    }

    static InvalidDataException Missing(ModelLoadContext ctx, string name, string modelName) =>
        new($"{modelName}: the model file has no entry '{Path(ctx, name)}'; the file is incomplete or corrupt. Save the model again with mlContext.Model.Save.");

    static string Path(ModelLoadContext ctx, string name) => string.IsNullOrEmpty(ctx.Directory) ? name : ctx.Directory + "/" + name;
}
