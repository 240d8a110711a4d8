using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Training;

namespace Generation;

/// <summary>
/// The sample: fine-tunes the shipped Moby-Dick decoder with LoRA on the ham e-mails of the spam corpus (another
/// domain), and shows held-out perplexity and generations (beam search, sampling) before and after.
/// </summary>
public static class FineTuneDemo
{
    static readonly string[] Prompts = { "Hi all, I think the", "The meeting on Friday", "Thanks for the" };

    sealed class Row
    {
        public string Text { get; set; } = "";
    }

    /// <summary>Runs the sample; options: <c>--model DIR</c>, <c>--train-rows N</c>, <c>--test-rows N</c>, <c>--epochs N</c>.</summary>
    public static void Run(string[] args)
    {
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../.."));
        string modelFolder = Option(args, "--model") ?? Path.Combine(root, "Model");
        string data = Path.Combine(root, "../TextClassification/Data");
        int trainRows = int.Parse(Option(args, "--train-rows") ?? "400");
        int testRows = int.Parse(Option(args, "--test-rows") ?? "150");
        int epochs = int.Parse(Option(args, "--epochs") ?? "1");

        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Ham(Path.Combine(data, "spam.train.tsv")).Take(trainRows));
        var test = ml.Data.LoadFromEnumerable(Ham(Path.Combine(data, "spam.test.tsv")).Take(testRows));
        var prompts = ml.Data.LoadFromEnumerable(Prompts.Select(p => new Row { Text = p }));

        var decoder = PretrainedDecoder.FromDirectory(modelFolder);
        var options = new TextGeneratorTrainerOptions
        {
            MaxSequenceLength = 128,
            Training = new TrainingOptions { LearningRate = 3e-3, Epochs = epochs, BatchSize = 8, WarmupRatio = 0.05, Seed = 1, LogEverySteps = 25 },
            Generation = new GenerationOptions { MaxNewTokens = 40, NumBeams = 4, RepetitionPenalty = 1.2 },
        };
        var estimator = ml.Peft().LoraTextGenerator(decoder, rank: 8, alpha: 16, dropout: 0.05, options: options,
                                                              log: line => Console.WriteLine($"  {line}"));
        Console.WriteLine($"Base model: {modelFolder} ({decoder.Gpt2Config!.NLayer} layers, n_embd {decoder.Gpt2Config.NEmbd}, vocabulary {decoder.Gpt2Config.VocabSize})");

        var before = estimator.CreateBaseline();
        double perplexityBefore = before.EvaluatePerplexity(test).Perplexity;
        Console.WriteLine($"\nHeld-out ham perplexity before LoRA: {perplexityBefore:F2}");
        Show("before", before, prompts);

        Console.WriteLine($"\nFine-tuning with LoRA (r=8, alpha=16, c_attn) on {trainRows} ham e-mails...");
        var after = estimator.Fit(train);
        double perplexityAfter = after.EvaluatePerplexity(test).Perplexity;
        Console.WriteLine($"\nHeld-out ham perplexity after LoRA: {perplexityAfter:F2} (was {perplexityBefore:F2}); trained {estimator.LastTrainingSeconds:F0} s");
        Show("after", after, prompts);

        string zip = Path.Combine(Path.GetTempPath(), "ham-lora-generator.zip");
        ml.Model.Save(after, train.Schema, zip);
        Console.WriteLine($"\nSaved to {zip} ({new FileInfo(zip).Length / 1024} KiB: adapter only, the base model is referenced by path and SHA-256).");
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT method=lora perplexity_before={perplexityBefore:F2} perplexity_after={perplexityAfter:F2} train_seconds={estimator.LastTrainingSeconds:F1}"));
    }

    static void Show(string when, PeftTextGenerationTransformer model, IDataView prompts)
    {
        var beam = model.WithGenerationOptions(new GenerationOptions { MaxNewTokens = 40, NumBeams = 4, RepetitionPenalty = 1.2 });
        var sampling = model.WithGenerationOptions(new GenerationOptions { MaxNewTokens = 40, DoSample = true, Temperature = 0.7, TopP = 0.9, TopK = 0, Seed = 7 });
        var beams = beam.Transform(prompts).GetColumn<string>("GeneratedText").ToArray();
        var samples = sampling.Transform(prompts).GetColumn<string>("GeneratedText").ToArray();
        for (int i = 0; i < Prompts.Length; i++)
        {
            Console.WriteLine($"[{when}] {Prompts[i]}");
            Console.WriteLine($"    beam x4 : {OneLine(beams[i])}");
            Console.WriteLine($"    sampling: {OneLine(samples[i])}");
        }
    }

    static string OneLine(string text) => text.Replace('\n', ' ').Replace('\r', ' ');

    static IEnumerable<Row> Ham(string path) => File.ReadLines(path).Skip(1)
        .Select(line => line.Split('\t', 2))
        .Where(parts => parts.Length == 2 && parts[0] == "ham" && parts[1].Length > 0)
        .Select(parts => new Row { Text = parts[1] });

    static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
