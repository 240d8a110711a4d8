using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Models.Llama;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Adapters;

/// <summary>
/// Where a bottleneck adapter goes in one sub-layer: the module that holds it (as <c>adapter</c>), the projection whose
/// output it adds to, and the sub-layer's first projection, whose input a parallel adapter reads.
/// </summary>
/// <param name="OwnerName">Full name of the holding module, e.g. <c>transformer.h.0.mlp</c>.</param>
/// <param name="Owner">The holding module.</param>
/// <param name="Output">The sub-layer's output projection (BERT <c>dense</c>, GPT-2 <c>c_proj</c>, LLaMA <c>o_proj</c> / <c>down_proj</c>).</param>
/// <param name="Input">The sub-layer's first projection (BERT <c>query</c> / <c>intermediate.dense</c>, GPT-2 <c>c_attn</c> / <c>c_fc</c>, LLaMA <c>q_proj</c> / <c>gate_proj</c>).</param>
/// <param name="IsAttention">True for the attention sub-layer, false for the feed-forward one.</param>
internal sealed record AdapterPlacement(string OwnerName, nn.Module Owner, nn.Module<Tensor, Tensor> Output, nn.Module<Tensor, Tensor> Input, bool IsAttention)
{
    /// <summary>
    /// Every sub-layer of <paramref name="model"/> that can hold an adapter, in module order. BERT: the residual output
    /// modules (<c>attention.output</c>, <c>output</c>). GPT-2: <c>attn</c> and <c>mlp</c>. LLaMA family: <c>self_attn</c>
    /// and <c>mlp</c>. In every family the adapter reads the sub-layer's projected output before the residual sum.
    /// </summary>
    public static List<AdapterPlacement> Find(nn.Module model)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var result = new List<AdapterPlacement>();
        foreach (var (name, module) in modules)
        {
            var roles = Roles(name, module);
            if (roles is not var (output, input, isAttention)) continue;
            result.Add(new AdapterPlacement(name, module, Projection(modules, output), Projection(modules, input), isAttention));
        }
        return result;
    }

    /// <summary>The adapter's width, device and dtype: those of <see cref="Output"/>'s output and weight.</summary>
    public (long Hidden, Device Device, ScalarType DType) Geometry() => Output switch
    {
        Linear l => (l.weight!.shape[0], l.weight!.device, l.weight!.dtype),      // weight (out, in)
        Conv1D c => (c.OutFeatures, c.Weight.device, c.Weight.dtype),            // weight (in, out)
        _ => throw new NotSupportedException($"Bottleneck adapters cannot follow '{OwnerName}': its output projection is a {Output.GetType().Name}."),
    };

    // (output projection, input projection, is attention) by full module name, or null for modules that hold no adapter.
    static (string Output, string Input, bool IsAttention)? Roles(string name, nn.Module module)
    {
        switch (module)
        {
            case BertResidualOutput:
                bool attention = name.EndsWith("attention.output", StringComparison.Ordinal);
                string block = name[..name.LastIndexOf(attention ? ".attention.output" : ".output", StringComparison.Ordinal)];
                return (name + ".dense", block + (attention ? ".attention.self.query" : ".intermediate.dense"), attention);
            case Gpt2Attention: return (name + ".c_proj", name + ".c_attn", true);
            case Gpt2Mlp: return (name + ".c_proj", name + ".c_fc", false);
            case LlamaAttention: return (name + ".o_proj", name + ".q_proj", true);
            case LlamaMlp: return (name + ".down_proj", name + ".gate_proj", false);
            default: return null;
        }
    }

    static nn.Module<Tensor, Tensor> Projection(Dictionary<string, nn.Module> modules, string name) =>
        modules.TryGetValue(name, out var m) && m is nn.Module<Tensor, Tensor> layer ? layer
            : throw new NotSupportedException($"Bottleneck adapters expected a projection named '{name}' in the model; it is missing or not a layer.");
}
