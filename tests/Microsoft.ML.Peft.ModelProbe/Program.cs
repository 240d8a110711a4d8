using System.Globalization;
using Microsoft.ML;

// dotnet Microsoft.ML.Peft.ModelProbe.dll MODEL.zip TEXTS.txt
// Loads MODEL.zip in this fresh process, scores each line of TEXTS.txt as the Text column, and prints one line
// per row: the predicted class name, a tab, then the scores in round-trip format. Exit code 1 and the exception
// on stderr when loading or scoring fails.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Microsoft.ML.Peft.ModelProbe <model.zip> <texts.txt>");
    return 2;
}

try
{
    var ml = new MLContext(seed: 1);
    var model = ml.Model.Load(args[0], out _);
    var rows = File.ReadAllLines(args[1]).Select(t => new ProbeInput { Text = t, Label = "" });
    var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
    foreach (var row in ml.Data.CreateEnumerable<ProbeOutput>(scored, reuseRowObject: false))
        Console.WriteLine(row.PredictedText + "\t" + string.Join(" ", row.Score.Select(s => s.ToString("R", CultureInfo.InvariantCulture))));
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine(e);
    return 1;
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
