using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Models;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

/// <summary>Tiny random classifiers and inputs for the LoRA tests.</summary>
static class LoraTestModels
{
    /// <summary>A tiny BERT or RoBERTa classifier (3 labels) in eval mode, the same for the same seed.</summary>
    public static nn.Module Classifier(string modelType = "bert", int seed = 1, int layers = 2)
    {
        manual_seed(seed);
        var config = TinyBert.Config(modelType, layers);
        nn.Module model = modelType == "roberta"
            ? new RobertaForSequenceClassification(config, 3)
            : new BertForSequenceClassification(config, 3);
        model.eval();
        return model;
    }

    /// <summary>
    /// A new classifier with the same weights as <paramref name="model"/> (before any adapter). Copied, not re-seeded:
    /// tests run in parallel and share TorchSharp's global generator.
    /// </summary>
    public static nn.Module Twin(nn.Module model, string modelType = "bert", int layers = 2)
    {
        var twin = Classifier(modelType, seed: 99, layers: layers);
        var source = model.state_dict();
        using var noGrad = no_grad();
        foreach (var (key, value) in twin.state_dict()) value.copy_(source[key]);
        return twin;
    }

    /// <summary>(2, 5) token ids inside the tiny vocabulary (RoBERTa's pad id 1 avoided).</summary>
    public static Tensor Ids() => tensor(new long[] { 2, 7, 9, 11, 3, 5, 6, 8, 4, 3 }, new long[] { 2, 5 });

    /// <summary>(2, 3) logits without gradient.</summary>
    public static Tensor Logits(nn.Module model, Tensor? ids = null)
    {
        using var noGrad = no_grad();
        return ((ISequenceClassifier)model).Logits(ids ?? Ids());
    }

    /// <summary>Gives every B factor random values so the adapter changes the output (B starts at zero).</summary>
    public static void RandomizeB(LoraModel lora, int seed = 7)
    {
        // A private generator: xUnit runs test classes in parallel, and the global one is shared by all of them.
        // A moderate std keeps the adapted model well conditioned, so fp32 merge error stays at rounding level.
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, p) in lora.Model.named_parameters())
            if (name.Contains(".lora_B.", StringComparison.Ordinal)) p.normal_(0, 0.1, generator);
    }

    public static bool BitEqual(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    public static double RelativeError(Tensor expected, Tensor actual) =>
        (actual - expected).abs().max().item<float>() / Math.Max(1e-12, expected.abs().max().item<float>());

    /// <summary>Copies of every parameter, by name.</summary>
    public static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
}
