using System.Globalization;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Peft.MLNet.Toy;
using Microsoft.ML.Peft.Tests.Checkpoints;

namespace Microsoft.ML.Peft.Tests.MLNet;

/// <summary>
/// mlContext.Model.Save / Load of chains holding our transformer, in this process and in a fresh one (where
/// nothing but ML.NET's own loader can have registered it).
/// </summary>
public class ModelPersistenceTests
{
    sealed class Prediction
    {
        public string PredictedText { get; set; } = "";
        public float[] Score { get; set; } = [];
    }

    static List<string> Lines(MLContext ml, ITransformer model, IEnumerable<TextRow> rows) =>
        ml.Data.CreateEnumerable<Prediction>(model.Transform(ml.Data.LoadFromEnumerable(rows)), reuseRowObject: false)
            .Select(p => p.PredictedText + "\t" + string.Join(" ", p.Score.Select(s => s.ToString("R", CultureInfo.InvariantCulture))))
            .ToList();

    static string Save(MLContext ml, ITransformer model, TempFolder folder)
    {
        string path = Path.Combine(folder.Path, "model.zip");
        ml.Model.Save(model, ToyData.View(ml, 1, seed: 0).Schema, path);
        return path;
    }

    [Fact]
    public void Saved_model_loads_in_a_fresh_process_with_identical_scores()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        var (model, _) = ToyData.FitWithPredictedText(ml);
        var test = ToyData.Rows(45, seed: 7).Select(r => new TextRow { Text = r.Text }).ToList();
        string path = Save(ml, model, folder);

        var (code, output, error) = ModelProbe.Run(path, test.Select(r => r.Text));

        Assert.True(code == 0, $"probe failed ({code}):\n{error}\n{output}");
        var probeLines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(Lines(ml, model, test), probeLines);
    }

    [Fact]
    public void Saved_model_loads_in_this_process_with_identical_scores_and_config()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        var (model, classifier) = ToyData.FitWithPredictedText(ml, batchSize: 5);
        string path = Save(ml, model, folder);

        var loaded = new MLContext(seed: 2).Model.Load(path, out var inputSchema);
        var test = ToyData.Rows(20, seed: 8);

        Assert.Equal(Lines(ml, model, test), Lines(ml, loaded, test));
        Assert.Equal(["Label", "Text"], inputSchema.Select(c => c.Name));
        var reloaded = FindClassifier(loaded);
        Assert.Equal(5, reloaded.BatchSize);
        Assert.Equal(classifier.ClassNames, reloaded.ClassNames);
        Assert.Equal("Text", reloaded.TextColumnName);

        // The zip holds our entries next to ML.NET's model stream.
        using var zip = ZipFile.OpenRead(path);
        Assert.Contains(zip.Entries, e => e.FullName.EndsWith(KeywordClassifierTransformer.WeightsEntry, StringComparison.Ordinal));
        Assert.Contains(zip.Entries, e => e.FullName.EndsWith(KeywordClassifierTransformer.ConfigEntry, StringComparison.Ordinal));
    }

    static KeywordClassifierTransformer FindClassifier(ITransformer model) => model switch
    {
        KeywordClassifierTransformer k => k,
        IEnumerable<ITransformer> chain => chain.Select(t => t is KeywordClassifierTransformer or IEnumerable<ITransformer> ? FindClassifier(t) : null).First(k => k is not null)!,
        _ => throw new InvalidOperationException("no classifier in " + model.GetType()),
    };

    [Fact]
    public void A_file_that_is_not_a_model_zip_fails_clearly()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "corrupt.zip");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        var error = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(path, out _));
        Assert.Matches("(?i)zip|central directory|corrupt|archive", error.Message);
    }

    [Theory]
    [InlineData(KeywordClassifierTransformer.WeightsEntry)]
    [InlineData(KeywordClassifierTransformer.ConfigEntry)]
    public void A_model_zip_missing_our_entries_fails_naming_the_entry(string entry)
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        string path = Save(ml, ToyData.FitWithPredictedText(ml).Model, folder);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
            zip.Entries.Single(e => e.FullName.EndsWith(entry, StringComparison.Ordinal)).Delete();

        var error = Assert.ThrowsAny<Exception>(() => ml.Model.Load(path, out _));
        var ours = Flatten(error).OfType<InvalidDataException>().FirstOrDefault();
        Assert.True(ours is not null, error.ToString());
        Assert.Contains(entry, ours!.Message);
        Assert.Contains("incomplete or corrupt", ours.Message);
    }

    [Fact]
    public void A_truncated_weight_blob_fails_clearly()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        string path = Save(ml, ToyData.FitWithPredictedText(ml).Model, folder);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var old = zip.Entries.Single(e => e.FullName.EndsWith(KeywordClassifierTransformer.WeightsEntry, StringComparison.Ordinal));
            string name = old.FullName;
            old.Delete();
            using var stream = zip.CreateEntry(name).Open();
            stream.Write(BitConverter.GetBytes(1000));
        }

        var error = Assert.ThrowsAny<Exception>(() => ml.Model.Load(path, out _));
        Assert.Contains(Flatten(error), e => e is InvalidDataException && e.Message.Contains(KeywordClassifierTransformer.WeightsEntry));
    }

    static IEnumerable<Exception> Flatten(Exception e)
    {
        for (var current = e; current is not null; current = current.InnerException)
            yield return current;
    }

    [Fact]
    public void A_zip_whose_chain_lacks_our_transformer_folder_fails_clearly()
    {
        using var folder = new TempFolder();
        var ml = new MLContext(seed: 1);
        string path = Save(ml, ToyData.FitWithPredictedText(ml).Model, folder);
        string ourFolder;
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var weights = zip.Entries.Single(e => e.FullName.EndsWith(KeywordClassifierTransformer.WeightsEntry, StringComparison.Ordinal));
            ourFolder = weights.FullName[..(weights.FullName.LastIndexOf('/') + 1)];
            foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith(ourFolder, StringComparison.Ordinal)).ToList())
                entry.Delete();
        }

        var error = Assert.ThrowsAny<Exception>(() => ml.Model.Load(path, out _));
        Assert.Contains("Corrupt model file", string.Join(" | ", Flatten(error).Select(e => e.Message)));
    }
}
