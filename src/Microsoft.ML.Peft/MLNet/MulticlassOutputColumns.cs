using Microsoft.ML.Data;

namespace Microsoft.ML.Peft.MLNet;

/// <summary>
/// The two columns ML.NET's multiclass convention expects of a classifier: <c>Score</c> (one float per class,
/// with the class names as slot names) and <c>PredictedLabel</c> (a key over the same classes, with the label's
/// key values), so that <c>MulticlassClassification.Evaluate</c> and <c>MapKeyToValue</c> work unchanged.
/// </summary>
public static class MulticlassOutputColumns
{
    /// <summary>The default name of the score column.</summary>
    public const string DefaultScoreColumnName = "Score";

    /// <summary>The default name of the predicted-label column.</summary>
    public const string DefaultPredictedLabelColumnName = "PredictedLabel";

    /// <summary>
    /// Builds the <c>Score</c> and <c>PredictedLabel</c> columns for <paramref name="classNames"/> (in key order:
    /// key value 1 is <c>classNames[0]</c>). <paramref name="scores"/> returns one row's scores, one per class;
    /// the predicted label is the first class with the highest score.
    /// </summary>
    public static IReadOnlyList<BatchOutputColumn<TResult>> Create<TResult>(
        IReadOnlyList<string> classNames, Func<TResult, float[]> scores,
        string scoreColumnName = DefaultScoreColumnName, string predictedLabelColumnName = DefaultPredictedLabelColumnName)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(scores);
        if (classNames.Count == 0)
            throw new ArgumentException("A classifier needs at least one class.", nameof(classNames));
        int classCount = classNames.Count;
        var names = new VBuffer<ReadOnlyMemory<char>>(classCount, classNames.Select(n => n.AsMemory()).ToArray());
        var namesType = new VectorDataViewType(TextDataViewType.Instance, classCount);
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> getNames = (ref VBuffer<ReadOnlyMemory<char>> dst) => names.CopyTo(ref dst);

        var scoreAnnotations = new DataViewSchema.Annotations.Builder();
        scoreAnnotations.Add(AnnotationUtils.Kinds.SlotNames, namesType, getNames);
        AddScoreKinds(scoreAnnotations, AnnotationUtils.Const.ScoreValueKind.Score);
        var score = new BatchOutputColumn<TResult, VBuffer<float>>(scoreColumnName,
            new VectorDataViewType(NumberDataViewType.Single, classCount),
            (TResult result, ref VBuffer<float> dst) => CopyScores(Checked(scores(result), classCount, scoreColumnName), ref dst),
            scoreAnnotations.ToAnnotations());

        var labelAnnotations = new DataViewSchema.Annotations.Builder();
        labelAnnotations.Add(AnnotationUtils.Kinds.KeyValues, namesType, getNames);
        AddScoreKinds(labelAnnotations, AnnotationUtils.Const.ScoreValueKind.PredictedLabel);
        var predicted = new BatchOutputColumn<TResult, uint>(predictedLabelColumnName,
            new KeyDataViewType(typeof(uint), classCount),
            (TResult result, ref uint key) => key = ArgMaxKey(Checked(scores(result), classCount, scoreColumnName)),
            labelAnnotations.ToAnnotations());

        return [score, predicted];
    }

    /// <summary>
    /// The estimator-side counterpart of <see cref="Create{TResult}"/>: <paramref name="inputSchema"/> with the
    /// <c>Score</c> and <c>PredictedLabel</c> shapes appended (replacing columns of the same names).
    /// </summary>
    public static SchemaShape AppendTo(SchemaShape inputSchema,
        string scoreColumnName = DefaultScoreColumnName, string predictedLabelColumnName = DefaultPredictedLabelColumnName)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var text = TextDataViewType.Instance;
        var scalar = SchemaShape.Column.VectorKind.Scalar;
        var vector = SchemaShape.Column.VectorKind.Vector;
        var kinds = new[]
        {
            new SchemaShape.Column(AnnotationUtils.Kinds.ScoreColumnKind, scalar, text, false),
            new SchemaShape.Column(AnnotationUtils.Kinds.ScoreValueKind, scalar, text, false),
        };
        var score = new SchemaShape.Column(scoreColumnName, vector, NumberDataViewType.Single, false,
            new SchemaShape([new SchemaShape.Column(AnnotationUtils.Kinds.SlotNames, vector, text, false), .. kinds]));
        var predicted = new SchemaShape.Column(predictedLabelColumnName, scalar, NumberDataViewType.UInt32, true,
            new SchemaShape([new SchemaShape.Column(AnnotationUtils.Kinds.KeyValues, vector, text, false), .. kinds]));
        var columns = inputSchema.Where(c => c.Name != scoreColumnName && c.Name != predictedLabelColumnName).ToList();
        columns.Add(score);
        columns.Add(predicted);
        return new SchemaShape(columns);
    }

    // ML.NET's own multiclass scorers tag their outputs this way; evaluators and some tools look for it.
    static void AddScoreKinds(DataViewSchema.Annotations.Builder builder, string valueKind)
    {
        var columnKind = AnnotationUtils.Const.ScoreColumnKind.MulticlassClassification.AsMemory();
        var value = valueKind.AsMemory();
        builder.Add(AnnotationUtils.Kinds.ScoreColumnKind, TextDataViewType.Instance,
            (ref ReadOnlyMemory<char> dst) => dst = columnKind);
        builder.Add(AnnotationUtils.Kinds.ScoreValueKind, TextDataViewType.Instance,
            (ref ReadOnlyMemory<char> dst) => dst = value);
    }

    static float[] Checked(float[] scores, int classCount, string column) =>
        scores?.Length == classCount ? scores
            : throw new InvalidOperationException($"The scorer returned {scores?.Length.ToString() ?? "null"} scores for column '{column}'; the model has {classCount} classes.");

    static void CopyScores(float[] scores, ref VBuffer<float> dst)
    {
        var editor = VBufferEditor.Create(ref dst, scores.Length);
        scores.AsSpan().CopyTo(editor.Values);
        dst = editor.Commit();
    }

    /// <summary>The 1-based key of the highest score (key 0 is ML.NET's missing value).</summary>
    internal static uint ArgMaxKey(float[] scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best]) best = i;
        return (uint)best + 1;
    }
}
