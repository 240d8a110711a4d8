using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

// Classifier mode: dotnet Microsoft.ML.Peft.ModelProbe.dll MODEL.zip TEXTS.txt
//   Loads MODEL.zip in this fresh process, scores each line of TEXTS.txt as the Text column, and prints one line per
//   row: the predicted class name, a tab, then the scores in round-trip format.
// Generator mode: dotnet Microsoft.ML.Peft.ModelProbe.dll generate MODEL.zip COLUMN PROMPTS.jsonl TEXTS.jsonl
//   Loads MODEL.zip, generates for each prompt of PROMPTS.jsonl (one JSON string per line) given as column COLUMN, and
//   prints each generated text as a JSON string on its own line; then "perplexity" and, in round-trip format, the
//   model's perplexity on the texts of TEXTS.jsonl (its EvaluatePerplexity over a Text column).
// Exit code 1 and the exception on stderr when loading or scoring fails. The code never names a library type (the
// perplexity call goes through reflection), so the model's loader is found as in a user's app, with no registration.
try
{
    if (args.Length == 5 && args[0] == "generate") return Generate(args[1], args[2], args[3], args[4]);
    if (args.Length == 2) return Classify(args[0], args[1]);
    Console.Error.WriteLine("usage: Microsoft.ML.Peft.ModelProbe <model.zip> <texts.txt>\n" +
                            "       Microsoft.ML.Peft.ModelProbe generate <model.zip> <column> <prompts.jsonl> <texts.jsonl>");
    return 2;
}
catch (Exception e)
{
    Console.Error.WriteLine(e);
    return 1;
}

static int Classify(string modelPath, string textsPath)
{
    var ml = new MLContext(seed: 1);
    var model = ml.Model.Load(modelPath, out _);
    var rows = File.ReadAllLines(textsPath).Select(t => new ProbeInput { Text = t, Label = "" });
    var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
    foreach (var row in ml.Data.CreateEnumerable<ProbeOutput>(scored, reuseRowObject: false))
        Console.WriteLine(row.PredictedText + "\t" + string.Join(" ", row.Score.Select(s => s.ToString("R", CultureInfo.InvariantCulture))));
    return 0;
}

static int Generate(string modelPath, string column, string promptsPath, string textsPath)
{
    var ml = new MLContext(seed: 1);
    var model = ml.Model.Load(modelPath, out _);
    var prompts = Texts(ml, promptsPath, column);
    foreach (var row in ml.Data.CreateEnumerable<GeneratedRow>(model.Transform(prompts), reuseRowObject: false))
        Console.WriteLine(JsonSerializer.Serialize(row.GeneratedText));

    var generator = model is TransformerChain<ITransformer> chain ? chain.LastTransformer : model;
    var evaluate = generator.GetType().GetMethod("EvaluatePerplexity")
        ?? throw new InvalidOperationException($"The loaded model is a {generator.GetType().FullName}, which has no EvaluatePerplexity.");
    var metrics = evaluate.Invoke(generator, new object?[] { Texts(ml, textsPath, "Text"), "Text", null })!;
    double perplexity = (double)metrics.GetType().GetProperty("Perplexity")!.GetValue(metrics)!;
    Console.WriteLine("perplexity\t" + perplexity.ToString("R", CultureInfo.InvariantCulture));
    return 0;
}

// One JSON string per line, as a text column named `column`.
static IDataView Texts(MLContext ml, string path, string column)
{
    var rows = File.ReadAllLines(path).Select(l => new ProbeInput { Text = JsonSerializer.Deserialize<string>(l)! });
    var view = ml.Data.LoadFromEnumerable(rows);
    return column == "Text" ? view : ml.Transforms.CopyColumns(column, "Text").Fit(view).Transform(view);
}

sealed class ProbeInput
{
    public string Text { get; set; } = "";
    public string Label { get; set; } = "";
}

sealed class ProbeOutput
{
    public string PredictedText { get; set; } = "";
    public float[] Score { get; set; } = [];
}

sealed class GeneratedRow
{
    public string GeneratedText { get; set; } = "";
}
