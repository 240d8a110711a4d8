using System.Globalization;

/// <summary>The sample's command line: <c>--name value</c> pairs with defaults tuned for a run of a few minutes on a 2-core CPU.</summary>
sealed class SampleArguments
{
    public string Train { get; private set; } = Path.Combine(AppContext.BaseDirectory, "Data", "spam.train.tsv");
    public string Test { get; private set; } = Path.Combine(AppContext.BaseDirectory, "Data", "spam.test.tsv");
    public string TextColumn { get; private set; } = "Text";
    public string LabelColumn { get; private set; } = "Label";
    public string Method { get; private set; } = "lora";
    public int Epochs { get; private set; } = 1;
    public int MaxLength { get; private set; } = 128;
    public string? Model { get; private set; }
    public string Output { get; private set; } = "output";
    /// <summary>
    /// Training rows used (a seeded random sample); null, the default, for all: one bf16 epoch over the 4,700 rows of the
    /// built-in split takes 1.5-3.5 minutes on a 2-core CPU.
    /// </summary>
    public int? MaxTrainRows { get; private set; }
    public bool BFloat16 { get; private set; } = true;
    public double? LearningRate { get; private set; }

    public const string Usage =
        "usage: dotnet run --project samples/TextClassification -- [--train FILE --test FILE] [--text-column Text] [--label-column Label]\n" +
        "       [--method lora|qlora|prompt|ptuning|prefix|adapter|ia3|bitfit|full] [--epochs N] [--max-length N] [--model DIR]\n" +
        "       [--output DIR] [--max-train-rows N|all] [--learning-rate X] [--fp32]";

    public static SampleArguments Parse(string[] args)
    {
        var result = new SampleArguments();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name == "--fp32") { result.BFloat16 = false; continue; }
            if (name is "-h" or "--help") throw new ArgumentException(Usage);
            if (i + 1 >= args.Length) throw new ArgumentException($"{name} needs a value.\n{Usage}");
            string value = args[++i];
            switch (name)
            {
                case "--train": result.Train = value; break;
                case "--test": result.Test = value; break;
                case "--text-column": result.TextColumn = value; break;
                case "--label-column": result.LabelColumn = value; break;
                case "--method": result.Method = value.ToLowerInvariant(); break;
                case "--epochs": result.Epochs = Int(name, value); break;
                case "--max-length": result.MaxLength = Int(name, value); break;
                case "--model": result.Model = value; break;
                case "--output": result.Output = value; break;
                case "--max-train-rows": result.MaxTrainRows = value == "all" ? null : Int(name, value); break;
                case "--learning-rate": result.LearningRate = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr) && lr > 0
                    ? lr : throw new ArgumentException($"--learning-rate needs a positive number, not '{value}'."); break;
                default: throw new ArgumentException($"Unknown option {name}.\n{Usage}");
            }
        }
        return result;
    }

    static int Int(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n : throw new ArgumentException($"{name} needs a positive whole number, not '{value}'.");
}
