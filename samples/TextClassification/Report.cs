using Microsoft.ML.Data;

/// <summary>Prints ML.NET's multiclass metrics: accuracy, macro F1 (from the confusion matrix) and the matrix itself.</summary>
static class Report
{
    /// <summary>Macro-averaged F1: the mean over classes of 2PR/(P+R), read from the confusion matrix.</summary>
    public static double MacroF1(MulticlassClassificationMetrics metrics)
    {
        var matrix = metrics.ConfusionMatrix;
        int n = matrix.NumberOfClasses;
        double sum = 0;
        for (int c = 0; c < n; c++)
        {
            double tp = matrix.GetCountForClassPair(c, c);
            double predicted = Enumerable.Range(0, n).Sum(r => matrix.GetCountForClassPair(c, r));
            double actual = Enumerable.Range(0, n).Sum(p => matrix.GetCountForClassPair(p, c));
            double precision = predicted == 0 ? 0 : tp / predicted, recall = actual == 0 ? 0 : tp / actual;
            sum += precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        }
        return sum / n;
    }

    public static void Print(string title, MulticlassClassificationMetrics metrics)
    {
        Console.WriteLine($"{title}: accuracy {metrics.MicroAccuracy:P2}, macro F1 {MacroF1(metrics):F4}, log-loss {metrics.LogLoss:F4}");
        Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
    }
}
