using ScottPlot;

namespace Microsoft.ML.Peft.Training;

/// <summary>Renders a <see cref="TrainingHistory"/> as a PNG: training loss, learning rate and a validation metric, stacked.</summary>
public static class TrainingPlot
{
    /// <summary>
    /// Saves the plot. <paramref name="metric"/> picks the validation metric for the third panel (default: the
    /// first metric of the first evaluation); without evaluations that panel says so.
    /// </summary>
    public static void SavePng(TrainingHistory history, string path, string? metric = null, int width = 900, int height = 900)
    {
        var steps = history.Steps.Where(s => !s.Skipped && double.IsFinite(s.Loss)).ToList();
        double[] xs = steps.Select(s => (double)s.Step).ToArray();

        var multiplot = new Multiplot();
        multiplot.AddPlots(3);

        var loss = multiplot.GetPlot(0);
        if (xs.Length > 0) loss.Add.ScatterLine(xs, steps.Select(s => s.Loss).ToArray());
        loss.Title("Training loss");
        loss.YLabel("loss");

        var lr = multiplot.GetPlot(1);
        if (xs.Length > 0) lr.Add.ScatterLine(xs, steps.Select(s => s.LearningRate).ToArray());
        lr.Title("Learning rate");
        lr.YLabel("lr");

        var val = multiplot.GetPlot(2);
        metric ??= history.Evaluations.FirstOrDefault()?.Metrics.Keys.FirstOrDefault();
        var points = metric is null ? new List<EvaluationRecord>() : history.Evaluations.Where(e => e.Metrics.ContainsKey(metric)).ToList();
        if (points.Count > 0)
        {
            var scatter = val.Add.Scatter(points.Select(e => (double)e.Step).ToArray(), points.Select(e => e.Metrics[metric!]).ToArray());
            scatter.MarkerSize = 7;
        }
        val.Title(points.Count > 0 ? $"Validation {metric}" : "Validation (no evaluations)");
        val.YLabel(metric ?? "metric");
        val.XLabel("optimizer step");

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        multiplot.SavePng(path, width, height);
    }
}
