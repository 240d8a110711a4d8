using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// A sequence classifier with a PEFT method applied, plus what it takes to feed it text: the tokenizer, the
/// maximum length and the device. Shared by training (logits with autograd) and scoring (probabilities under no_grad).
/// </summary>
internal sealed class AdaptedClassifier : IDisposable
{
    // TorchSharp modules are not safe to call from several threads at once (train/eval flags, hooks, and the
    // dispose scopes are per thread but the module state is not), so every forward of the transformer runs under this.
    readonly object _forward = new();

    public AdaptedClassifier(PretrainedModel baseModel, nn.Module model, IPeftModel peft, Device device, int maxLength, bool bf16)
    {
        if (model is not ISequenceClassifier)
            throw new ArgumentException($"{model.GetType().Name} is not a sequence classifier.", nameof(model));
        BaseModel = baseModel;
        Model = model;
        Peft = peft;
        Device = device;
        MaxLength = maxLength;
        BFloat16 = bf16;
    }

    public PretrainedModel BaseModel { get; }
    public nn.Module Model { get; }
    public IPeftModel Peft { get; }
    public Device Device { get; }
    public int MaxLength { get; }
    public bool BFloat16 { get; }
    public int NumLabels => ((ISequenceClassifier)Model).NumLabels;

    /// <summary>
    /// Loads the base classifier on <paramref name="device"/>, lets <paramref name="attach"/> apply or load the method,
    /// then casts to bf16 when asked (after the method, so its parameters are cast too; the trainer keeps fp32 masters).
    /// </summary>
    public static AdaptedClassifier Create(PretrainedModel baseModel, int numLabels, Device device, int maxLength, bool bf16,
                                           Func<nn.Module, IPeftModel> attach)
    {
        var model = baseModel.LoadSequenceClassifier(numLabels, device);
        try
        {
            var peft = attach(model);
            if (bf16) ToBFloat16(model);
            model.eval();
            return new AdaptedClassifier(baseModel, model, peft, device, maxLength, bf16);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    // TorchSharp's Linear.to() converts only its own weight and bias, not modules hung under it (LoRA's factors), which a
    // method would then convert lazily at the first forward, replacing parameters the trainer already holds. So every
    // module that still has non-bf16 parameters of its own is cast here, before anyone takes the parameters.
    static void ToBFloat16(nn.Module model)
    {
        model.to(ScalarType.BFloat16);
        foreach (var (_, module) in model.named_modules())
            if (module.parameters(recurse: false).Any(p => p.dtype != ScalarType.BFloat16))
                module.to(ScalarType.BFloat16);
    }

    /// <summary>(B, num_labels) fp32 logits of <paramref name="texts"/>, with autograd as the caller's mode says.</summary>
    public Tensor Logits(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null)
    {
        var batch = BaseModel.Tokenizer.EncodeBatch(texts, pairs, MaxLength, PaddingMode.Longest);
        var (ids, mask, types) = batch.ToTensors(Device);
        return ((ISequenceClassifier)Model).Logits(ids, mask, types).to(ScalarType.Float32);
    }

    /// <summary>Class probabilities (softmax of the logits), one array per text. Thread-safe: forwards are serialized.</summary>
    public float[][] Probabilities(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null)
    {
        if (texts.Count == 0) return [];
        float[] flat;
        lock (_forward)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var probabilities = nn.functional.softmax(Logits(texts, pairs), dim: -1).cpu();
            flat = probabilities.data<float>().ToArray();
        }
        int classes = NumLabels;
        var rows = new float[texts.Count][];
        for (int i = 0; i < rows.Length; i++)
            rows[i] = flat.AsSpan(i * classes, classes).ToArray();
        return rows;
    }

    /// <summary>Mean cross-entropy and accuracy over <paramref name="data"/>, in eval mode, under no_grad.</summary>
    public (double Loss, double Accuracy) Measure(LabelledTexts data, int batchSize)
    {
        double lossSum = 0;
        int correct = 0;
        lock (_forward)
        {
            for (int start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                int n = Math.Min(batchSize, data.Count - start);
                var logits = Logits(data.Texts.AsSpan(start, n).ToArray(), data.Pairs?.AsSpan(start, n).ToArray());
                var labels = tensor(data.Labels.AsSpan(start, n).ToArray(), device: Device);
                lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
                correct += (int)logits.argmax(-1).eq(labels).sum().item<long>();
            }
        }
        return (lossSum / data.Count, (double)correct / data.Count);
    }

    public void Dispose() => Model.Dispose();
}
