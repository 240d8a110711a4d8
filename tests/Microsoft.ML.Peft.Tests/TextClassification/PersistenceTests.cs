using System.Globalization;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Peft.Tasks.TextClassification;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.MLNet;

namespace Microsoft.ML.Peft.Tests.TextClassification;

/// <summary>mlContext.Model.Save / Load of a pipeline holding the PEFT classifier, here and in a fresh process.</summary>
public class PersistenceTests(TinyClassifierFixture fixture) : IClassFixture<TinyClassifierFixture>
{
    sealed class Prediction
    {
        public string PredictedText { get; set; } = "";
        public float[] Score { get; set; } = [];
    }

    static List<string> Lines(ITransformer model, IEnumerable<TextRow> rows)
    {
        var ml = new MLContext(seed: 1);
        return ml.Data.CreateEnumerable<Prediction>(model.Transform(ml.Data.LoadFromEnumerable(rows)), reuseRowObject: false)
            .Select(p => p.PredictedText + "\t" + string.Join(" ", p.Score.Select(s => s.ToString("R", CultureInfo.InvariantCulture))))
            .ToList();
    }

    static string Save(ITransformer model, TempFolder folder, string name = "model.zip")
    {
        var ml = new MLContext(seed: 1);
        string path = folder.File(name);
        ml.Model.Save(model, ClassifierData.View(ml, 1, seed: 0).Schema, path);
        return path;
    }

    [Fact]
    public void Saved_model_loads_in_a_fresh_process_with_identical_scores()
    {
        using var folder = new TempFolder();
        string path = Save(fixture.Fitted.Chain, folder);
        var texts = ClassifierData.Rows(20, seed: 9).Select(r => new TextRow { Text = r.Text }).ToList();

        var (code, output, error) = ModelProbe.Run(path, texts.Select(r => r.Text));

        Assert.True(code == 0, $"probe failed ({code}):\n{error}\n{output}");
        var probe = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(Lines(fixture.Fitted.Chain, texts), probe);
    }

    [Fact]
    public void Saved_model_loads_in_this_process_with_identical_scores_config_and_history()
    {
        using var folder = new TempFolder();
        string path = Save(fixture.Fitted.Chain, folder);
        var loaded = new MLContext(seed: 2).Model.Load(path, out var schema);
        var rows = ClassifierData.Rows(12, seed: 8);
        Assert.Equal(Lines(fixture.Fitted.Chain, rows), Lines(loaded, rows));

        using var classifier = TinyClassifierFixture.FindClassifier(loaded);
        var original = fixture.Fitted.Classifier;
        Assert.Equal(original.ClassNames, classifier.ClassNames);
        Assert.Equal(original.MaxLength, classifier.MaxLength);
        Assert.Equal(original.BatchSize, classifier.BatchSize);
        Assert.Equal("LORA", classifier.PeftType);
        Assert.Equal(fixture.Folder.Folder, classifier.BaseModelPath);
        Assert.Equal(original.TrainingHistory!.Steps.Count, classifier.TrainingHistory!.Steps.Count);

        using var zip = ZipFile.OpenRead(path);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Contains(names, n => n.EndsWith("Adapter.adapter_model.safetensors", StringComparison.Ordinal));
        Assert.Contains(names, n => n.EndsWith("Adapter.adapter_config.json", StringComparison.Ordinal));
        Assert.Contains(names, n => n.EndsWith("Config.json", StringComparison.Ordinal));
        Assert.DoesNotContain(names, n => n.Contains("BaseModel.", StringComparison.Ordinal)); // referenced, not embedded
    }

    /// <summary>A private copy of the tiny model folder, a classifier fitted on it (1 epoch) and saved.</summary>
    static (string ModelFolder, string Zip, List<string> Expected) FitOnCopy(TinyClassifierFixture fixture, TempFolder temp, bool embed)
    {
        string copy = Path.Combine(temp.Path, "base");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(fixture.Folder.Folder)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var options = TinyClassifierFixture.Options(epochs: 1);
        options.EmbedBaseModel = embed;
        var (chain, classifier) = TinyClassifierFixture.Fit(new MLContext(seed: 1), PretrainedModel.FromDirectory(copy), options, rows: 12);
        using (classifier)
        {
            string zip = Save(chain, temp);
            return (copy, zip, Lines(chain, ClassifierData.Rows(6, seed: 2)));
        }
    }

    [Fact]
    public void A_missing_base_model_fails_naming_the_folder_and_the_fix()
    {
        using var temp = new TempFolder();
        var (copy, zip, _) = FitOnCopy(fixture, temp, embed: false);
        Directory.Delete(copy, recursive: true);
        var e = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(zip, out _));
        string message = e.ToString();
        Assert.Contains("base model of this text classifier is missing", message);
        Assert.Contains(copy, message);
        Assert.Contains("EmbedBaseModel", message);
    }

    [Fact]
    public void A_changed_base_model_fails_saying_what_differs()
    {
        using var temp = new TempFolder();
        var (copy, zip, _) = FitOnCopy(fixture, temp, embed: false);
        string config = Path.Combine(copy, "config.json");
        string original = File.ReadAllText(config);
        File.WriteAllText(config, original + "\n");
        Assert.Contains("config.json differs", Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(zip, out _)).ToString());

        File.WriteAllText(config, original);
        string weights = Directory.GetFiles(copy, "*.safetensors").Single();
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(weights, bytes);
        string message = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(zip, out _)).ToString();
        Assert.Contains("weights (*.safetensors) differ", message);
        Assert.Contains(copy, message);
    }

    [Fact]
    public void An_embedded_base_model_loads_without_the_original_folder()
    {
        using var temp = new TempFolder();
        var (copy, zip, expected) = FitOnCopy(fixture, temp, embed: true);
        Directory.Delete(copy, recursive: true);
        var loaded = new MLContext().Model.Load(zip, out _);
        Assert.Equal(expected, Lines(loaded, ClassifierData.Rows(6, seed: 2)));
        using var zipFile = ZipFile.OpenRead(zip);
        Assert.Contains(zipFile.Entries, e => e.FullName.EndsWith("BaseModel.config.json", StringComparison.Ordinal));
        TinyClassifierFixture.FindClassifier(loaded).Dispose();
    }

    [Fact]
    public void A_bf16_classifier_round_trips_with_identical_scores()
    {
        using var temp = new TempFolder();
        var options = TinyClassifierFixture.Options(epochs: 2);
        options.UseBFloat16 = true;
        var (chain, classifier) = TinyClassifierFixture.Fit(new MLContext(seed: 1), fixture.Model, options, rows: 24);
        using (classifier)
        {
            var rows = ClassifierData.Rows(6, seed: 2);
            var loaded = new MLContext().Model.Load(Save(chain, temp), out _);
            using var reloaded = TinyClassifierFixture.FindClassifier(loaded);
            Assert.Equal(Lines(chain, rows), Lines(loaded, rows));
        }
    }

    [Fact]
    public void A_qlora_classifier_round_trips_with_identical_scores()
    {
        // The zip holds the LoRA adapter with its quantization record; loading quantizes the referenced base again.
        using var temp = new TempFolder();
        var options = TinyClassifierFixture.Options(MethodFitTests.QLora(), 1e-2, epochs: 2);
        var (chain, classifier) = TinyClassifierFixture.Fit(new MLContext(seed: 1), fixture.Model, options, rows: 24);
        using (classifier)
        {
            var rows = ClassifierData.Rows(6, seed: 2);
            var loaded = new MLContext().Model.Load(Save(chain, temp), out _);
            using var reloaded = TinyClassifierFixture.FindClassifier(loaded);
            Assert.Equal("LORA", reloaded.PeftType);
            Assert.Equal(Lines(chain, rows), Lines(loaded, rows));
        }
    }

    [Fact]
    public void A_corrupt_zip_fails_clearly()
    {
        using var temp = new TempFolder();
        string bogus = temp.File("bogus.zip");
        File.WriteAllText(bogus, "not a zip");
        Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(bogus, out _));

        // A real model zip whose adapter entry is gone.
        string path = Save(fixture.Fitted.Chain, temp, "damaged.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
            zip.Entries.First(e => e.FullName.EndsWith("Adapter.adapter_model.safetensors", StringComparison.Ordinal)).Delete();
        var e = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(path, out _));
        Assert.Contains("Adapter.adapter_model.safetensors", e.ToString());
    }
}
