using Microsoft.ML.Peft.Models.Bert;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Core;

/// <summary>Tells which Hugging Face architecture (<c>model_type</c>) and task a module tree is.</summary>
public static class ModelArchitecture
{
    /// <summary>
    /// The <c>model_type</c> of <paramref name="model"/>: from its config when it is one of our models, else from
    /// the module names it uses (<c>c_attn</c>: gpt2; <c>q_proj</c>: llama; <c>query</c>: bert).
    /// </summary>
    public static string ModelType(nn.Module model)
    {
        if (model is BertModel bert) return bert.Config.ModelType;
        if (model is ISequenceClassifier classifier) return classifier.Encoder.Config.ModelType;
        var names = model.named_modules().Select(m => m.Item1).ToList();
        if (names.Any(n => TargetModuleMatcher.MatchesEntry(n, "c_attn"))) return "gpt2";
        if (names.Any(n => TargetModuleMatcher.MatchesEntry(n, "q_proj"))) return "llama";
        if (names.Any(n => TargetModuleMatcher.MatchesEntry(n, "query"))) return "bert";
        return "unknown";
    }

    /// <summary>PEFT's <c>task_type</c> for <paramref name="model"/>: <c>SEQ_CLS</c> for classifiers, <c>CAUSAL_LM</c> for decoders, else null.</summary>
    public static string? TaskType(nn.Module model) => model switch
    {
        ISequenceClassifier => "SEQ_CLS",
        Models.ICausalLM => "CAUSAL_LM",
        _ => null,
    };

    /// <summary>The head PEFT trains whole for a task (<c>classifier</c>, <c>score</c>), when the model has one.</summary>
    public static IReadOnlyList<string> DefaultModulesToSave(nn.Module model, string? taskType)
    {
        if (taskType != "SEQ_CLS") return Array.Empty<string>();
        var children = model.named_children().Select(c => c.Item1).ToHashSet();
        return new[] { "classifier", "score" }.Where(children.Contains).ToList();
    }
}
