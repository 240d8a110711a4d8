using System.Text.RegularExpressions;
using Microsoft.ML.Peft.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Core;

/// <summary>
/// Finds the <c>Linear</c> modules an adapter targets, by full dotted module name (the prefix of the module's
/// state-dict keys, e.g. <c>bert.encoder.layer.0.attention.self.query</c>), exactly as Python PEFT matches them.
/// </summary>
public static class TargetModuleMatcher
{
    // PEFT's default layers_pattern: the block containers of BERT (layer), LLaMA (layers), GPT-2 (h), and others.
    static readonly Regex LayerIndexPattern = new(@"(?:^|\.)(?:layer|layers|h|blocks|block)\.(\d+)(?:\.|$)", RegexOptions.CultureInvariant);

    /// <summary>Names of output heads that <c>all-linear</c> leaves alone (they are trained whole, if at all).</summary>
    public static IReadOnlyList<string> OutputHeadNames { get; } = new[] { "classifier", "score", "lm_head", "cls", "qa_outputs" };

    /// <summary>Whether <paramref name="moduleName"/> equals <paramref name="entry"/> or ends with <c>.entry</c>.</summary>
    public static bool MatchesEntry(string moduleName, string entry) =>
        moduleName == entry || moduleName.EndsWith("." + entry, StringComparison.Ordinal);

    /// <summary>Whether the regular expression matches the whole of <paramref name="moduleName"/> (Python's <c>re.fullmatch</c>).</summary>
    public static bool FullMatch(string moduleName, string pattern) =>
        System.Text.RegularExpressions.Regex.IsMatch(moduleName, $"^(?:{pattern})$", RegexOptions.CultureInvariant);

    /// <summary>The block index in a module name (<c>encoder.layer.3.attention</c> gives 3), or null outside blocks.</summary>
    public static int? LayerIndex(string moduleName)
    {
        var m = LayerIndexPattern.Match(moduleName);
        return m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Whether <paramref name="moduleName"/> lies inside an output head (<see cref="OutputHeadNames"/>).</summary>
    public static bool IsInOutputHead(string moduleName) =>
        moduleName.Split('.').Any(part => OutputHeadNames.Contains(part));

    /// <summary>Whether a linear module named <paramref name="moduleName"/> is selected by <paramref name="targets"/>.</summary>
    public static bool IsTarget(string moduleName, TargetModules targets)
    {
        bool matched = targets.IsAllLinear ? !IsInOutputHead(moduleName)
            : targets.Pattern is not null ? FullMatch(moduleName, targets.Pattern)
            : (targets.Names ?? Array.Empty<string>()).Any(e => MatchesEntry(moduleName, e));
        if (!matched) return false;
        if (targets.LayersToTransform is { } layers && !(LayerIndex(moduleName) is int i && layers.Contains(i))) return false;
        if (targets.ExcludeModules is { } excluded && excluded.Any(e => MatchesEntry(moduleName, e))) return false;
        return true;
    }

    /// <summary>Every <c>Linear</c> of <paramref name="model"/> with its full dotted name, in module order.</summary>
    public static IReadOnlyList<(string Name, Linear Module)> LinearModules(nn.Module model) =>
        model.named_modules().Where(m => m.Item2 is Linear && m.Item1.Length > 0)
             .Select(m => (m.Item1, (Linear)m.Item2)).ToList();

    /// <summary>
    /// The linear modules of <paramref name="model"/> that <paramref name="targets"/> selects.
    /// </summary>
    /// <exception cref="ArgumentException">Nothing matched; the message lists the linear modules that exist.</exception>
    public static IReadOnlyList<(string Name, Linear Module)> Select(nn.Module model, TargetModules targets) =>
        SelectFrom(LinearModules(model), targets);

    /// <summary>
    /// The <c>Linear</c> and GPT-2 <see cref="Models.Conv1D"/> modules of <paramref name="model"/> that
    /// <paramref name="targets"/> selects (methods that rescale or adapt either, such as IA3).
    /// </summary>
    /// <exception cref="ArgumentException">Nothing matched; the message lists the candidate modules.</exception>
    public static IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Module)> SelectLinearOrConv1D(nn.Module model, TargetModules targets) =>
        SelectFrom(model.named_modules().Where(m => m.Item1.Length > 0 && m.Item2 is Linear or Models.Conv1D)
                        .Select(m => (m.Item1, (nn.Module<Tensor, Tensor>)m.Item2)).ToList(), targets);

    static IReadOnlyList<(string Name, T Module)> SelectFrom<T>(IReadOnlyList<(string Name, T Module)> candidates, TargetModules targets)
    {
        var selected = candidates.Where(c => IsTarget(c.Name, targets)).ToList();
        if (selected.Count == 0)
            throw new ArgumentException(
                $"Target modules {targets} matched no linear module of the model. Candidates: " +
                string.Join(", ", candidates.Select(c => c.Name)) + ".", nameof(targets));
        return selected;
    }

    /// <summary>
    /// PEFT's per-architecture defaults for LoRA: BERT/RoBERTa <c>query, value</c>; GPT-2 <c>c_attn</c>;
    /// the LLaMA family <c>q_proj, v_proj</c>.
    /// </summary>
    /// <exception cref="ArgumentException">No default is known for the architecture.</exception>
    public static IReadOnlyList<string> DefaultLoraTargets(string modelType) => modelType.ToLowerInvariant() switch
    {
        "bert" or "roberta" or "xlm-roberta" or "distilroberta" or "camembert" or "electra" => new[] { "query", "value" },
        "gpt2" => new[] { "c_attn" },
        "llama" or "mistral" or "qwen2" or "gemma" or "phi3" => new[] { "q_proj", "v_proj" },
        _ => throw new ArgumentException($"No default LoRA target modules are known for model type '{modelType}'; set target modules explicitly.", nameof(modelType)),
    };
}
