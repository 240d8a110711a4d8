using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// Carries whole files (an adapter folder, a base model folder) inside ML.NET's model zip, one binary entry per file:
/// its byte length, then its bytes, so that a truncated entry is detected rather than loaded.
/// </summary>
internal static class ModelFileEntries
{
    /// <summary>Writes each top-level file of <paramref name="folder"/> as entry <c>{prefix}{file name}</c>; returns the names.</summary>
    public static string[] Save(ModelSaveContext ctx, string prefix, string folder)
    {
        var names = Directory.EnumerateFiles(folder).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        foreach (string name in names)
            ctx.SaveBinaryStream(prefix + name, writer =>
            {
                using var file = File.OpenRead(Path.Combine(folder, name));
                writer.Write(file.Length);
                writer.Flush();
                file.CopyTo(writer.BaseStream);
            });
        return names;
    }

    /// <summary>Writes the entries <c>{prefix}{name}</c> back as files of <paramref name="folder"/>.</summary>
    /// <exception cref="InvalidDataException">An entry is missing or truncated (named), or a name is not a plain file name.</exception>
    public static void Restore(ModelLoadContext ctx, string prefix, IEnumerable<string> names, string folder, string modelName)
    {
        Directory.CreateDirectory(folder);
        foreach (string name in names)
        {
            if (string.IsNullOrEmpty(name) || name != Path.GetFileName(name) || name is "." or "..")
                throw new InvalidDataException($"{modelName}: the model file lists an invalid file name '{name}'; the file is corrupt.");
            string entry = prefix + name;
            bool found;
            try
            {
                found = ctx.TryLoadBinaryStream(entry, reader =>
                {
                    long length = reader.ReadInt64();
                    using var file = File.Create(Path.Combine(folder, name));
                    CopyExactly(reader.BaseStream, file, length);
                });
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"{modelName}: entry '{entry}' of the model file is truncated; the file is corrupt.", e);
            }
            if (!found)
                throw new InvalidDataException($"{modelName}: the model file has no entry '{entry}'; the file is incomplete or corrupt. Save the model again with mlContext.Model.Save.");
        }
    }

    static void CopyExactly(Stream source, Stream destination, long length)
    {
        var buffer = new byte[1 << 20];
        while (length > 0)
        {
            int read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, length));
            if (read == 0) throw new EndOfStreamException();
            destination.Write(buffer, 0, read);
            length -= read;
        }
    }
}
