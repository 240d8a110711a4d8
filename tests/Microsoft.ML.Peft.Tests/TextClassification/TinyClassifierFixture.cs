using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Tasks.TextClassification;
using Microsoft.ML.Peft.Tests.Models;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.TextClassification;

/// <summary>
/// A tiny random BERT folder and, fitted once on first use, a LoRA classifier pipeline on it
/// (MapValueToKey, the classifier, MapKeyToValue to PredictedText): what the persistence and scoring tests share.
/// </summary>
public sealed class TinyClassifierFixture : IDisposable
{
    readonly Lazy<(ITransformer, PeftTextClassificationTransformer)> _fitted;

    public TinyClassifierFixture()
    {
        // Weights 10x wider than BERT's init: with std 0.02 a random model's pooled state hardly depends on the input,
        // unlike a pretrained one's, and nothing but the head could learn (see MethodMatrixTests).
        var config = TinyBert.Config("bert");
        config.InitializerRange = 0.2;
        TorchSharp.torch.manual_seed(7);
        Folder = new TinyModelFolder("bert", model: new Microsoft.ML.Peft.Models.Bert.BertModel(config));
        Model = PretrainedModel.FromDirectory(Folder.Folder);
        _fitted = new(() => Fit(new MLContext(seed: 1), Model), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    internal TinyModelFolder Folder { get; }
    public PretrainedModel Model { get; }
    public MLContext Context { get; } = new(seed: 1);

    /// <summary>The fitted chain and its classifier.</summary>
    public (ITransformer Chain, PeftTextClassificationTransformer Classifier) Fitted => _fitted.Value;

    /// <summary>Options that fit the tiny model in a second or two: LoRA r=4, 10 epochs of 60 rows, max length 24.</summary>
    public static TextClassifierOptions Options(Microsoft.ML.Peft.Methods.IPeftMethodOptions? method = null, double learningRate = 1e-2, int epochs = 10) => new()
    {
        Method = method ?? new LoraOptions { Rank = 4, Alpha = 8 },
        MaxLength = 24,
        ScoringBatchSize = 8,
        Training = new TrainingOptions { Epochs = epochs, BatchSize = 8, LearningRate = learningRate, WarmupRatio = 0.1, LogEverySteps = 0 },
    };

    public static (ITransformer, PeftTextClassificationTransformer) Fit(MLContext ml, PretrainedModel model, TextClassifierOptions? options = null, int rows = 60)
    {
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Peft().TextClassifier(model, options ?? Options()))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel"));
        var chain = pipeline.Fit(ClassifierData.View(ml, rows, seed: 1));
        return (chain, FindClassifier(chain));
    }

    public static PeftTextClassificationTransformer FindClassifier(ITransformer model) => model switch
    {
        PeftTextClassificationTransformer c => c,
        IEnumerable<ITransformer> chain => chain.Select(t => t is PeftTextClassificationTransformer or IEnumerable<ITransformer> ? FindClassifier(t) : null)
            .First(c => c is not null)!,
        _ => throw new InvalidOperationException("no classifier in " + model.GetType()),
    };

    public void Dispose()
    {
        if (_fitted.IsValueCreated) _fitted.Value.Item2.Dispose();
        Folder.Dispose();
    }
}
