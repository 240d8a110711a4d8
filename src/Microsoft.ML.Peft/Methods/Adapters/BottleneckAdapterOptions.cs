using Microsoft.ML.Peft.Models;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Adapters;

/// <summary>Where bottleneck adapters go in each transformer block.</summary>
public enum BottleneckAdapterKind
{
    /// <summary>Pfeiffer et al. (2021): one sequential adapter after the feed-forward sub-layer.</summary>
    Pfeiffer,

    /// <summary>Houlsby et al. (2019): sequential adapters after the attention and after the feed-forward sub-layer.</summary>
    Houlsby,

    /// <summary>He et al. (2022): a parallel adapter reads the feed-forward sub-layer's input and adds to its output.</summary>
    Parallel,
}

/// <summary>
/// Bottleneck adapters: <c>up(act(down(h))) * scaling</c> with down (hidden to hidden / reduction_factor) and up back to
/// hidden, added to a sub-layer's output before its residual and LayerNorm. The up-projection starts at zero, so the
/// model starts equal to the base. Our own format (<c>peft_type</c> <see cref="PeftTypeName"/>); PEFT has no such method.
/// </summary>
public sealed class BottleneckAdapterOptions : IPeftMethodOptions
{
    /// <summary>The <c>peft_type</c> we write. Not a Python PEFT type: Python PEFT cannot load these files.</summary>
    public const string PeftTypeName = "BOTTLENECK_ADAPTER";

    /// <summary>The placement. Default <see cref="BottleneckAdapterKind.Pfeiffer"/>.</summary>
    public BottleneckAdapterKind Kind { get; set; } = BottleneckAdapterKind.Pfeiffer;

    /// <summary>Hidden size divided by the bottleneck width (<c>reduction_factor</c>). Default 16.</summary>
    public int ReductionFactor { get; set; } = 16;

    /// <summary>The bottleneck's activation (<c>non_linearity</c>): relu, gelu, silu, tanh, ... Default relu.</summary>
    public string Activation { get; set; } = "relu";

    /// <summary>Factor on the adapter's output (<c>scaling</c>). Default 1; AdapterHub uses 4 for parallel adapters.</summary>
    public double Scaling { get; set; } = 1.0;

    /// <summary>Modules trained whole and saved with the adapters; null means the task's head (<c>classifier</c>).</summary>
    public IReadOnlyList<string>? ModulesToSave { get; set; }

    /// <summary>When true nothing is made trainable.</summary>
    public bool InferenceMode { get; set; }

    /// <summary>Whether blocks get an adapter after attention (Houlsby only).</summary>
    public bool AfterAttention => Kind == BottleneckAdapterKind.Houlsby;

    /// <inheritdoc/>
    public string PeftType => PeftTypeName;

    /// <inheritdoc/>
    public IPeftModel Apply(nn.Module model) => BottleneckAdapterModel.Create(model, this);

    /// <summary>The bottleneck width for a model of width <paramref name="hidden"/>: hidden / reduction_factor.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The width would be zero.</exception>
    public int BottleneckSize(int hidden) => hidden / ReductionFactor is > 0 and var m ? m
        : throw new ArgumentOutOfRangeException(nameof(ReductionFactor), ReductionFactor, $"reduction_factor {ReductionFactor} leaves no bottleneck for hidden size {hidden}.");

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">reduction_factor not positive or scaling not finite.</exception>
    /// <exception cref="ArgumentException">Unknown activation.</exception>
    public void Validate()
    {
        if (ReductionFactor <= 0) throw new ArgumentOutOfRangeException(nameof(ReductionFactor), ReductionFactor, "reduction_factor must be positive.");
        if (!double.IsFinite(Scaling)) throw new ArgumentOutOfRangeException(nameof(Scaling), Scaling, "scaling must be finite.");
        try { Activations.Validate(Activation); }
        catch (Exception e) { throw new ArgumentException($"Unknown adapter activation '{Activation}': {e.Message}", nameof(Activation), e); }
    }

    /// <summary>A copy, so the model's options cannot change under it.</summary>
    public BottleneckAdapterOptions Clone() => (BottleneckAdapterOptions)MemberwiseClone();
}
