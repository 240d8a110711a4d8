using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Quantization;

/// <summary>
/// A frozen linear layer whose weight is stored in NF4 (the base layer of QLoRA). The packed weight and its
/// quantization state are <b>buffers</b>, not parameters: they are saved in the state dict and moved with the
/// module but never reach an optimizer, and a uint8 tensor cannot require a gradient. The optional bias is a
/// parameter with <c>requires_grad = false</c>, so <c>parameters()</c> holds only the bias.
/// <para>
/// Buffers: <c>weight</c> (uint8, numel / 2, two codes per byte, high nibble first) and either <c>absmax</c>
/// (fp32, numel / block) or, double-quantized, <c>absmax_codes</c> (int8), <c>absmax_scales</c> (fp32) and
/// <c>absmax_mean</c> (fp32, 1).
/// </para>
/// </summary>
public sealed class Linear4bit : nn.Module<Tensor, Tensor>
{
    // Field names are the component names: Module.to(device) replaces the tensors through them.
#pragma warning disable IDE1006 // snake_case names match the state-dict keys
    Tensor weight;
    Tensor? absmax, absmax_codes, absmax_scales, absmax_mean;
    Parameter? bias;
#pragma warning restore IDE1006
    readonly long[] shape;

    /// <summary>Wraps an already quantized 2-D weight; the module takes ownership of its tensors.</summary>
    /// <param name="quantized">NF4 weight of shape (out_features, in_features).</param>
    /// <param name="bias">Optional bias of shape (out_features); copied and frozen.</param>
    /// <param name="options">Options used to quantize (block sizes) and the compute dtype.</param>
    public Linear4bit(QuantizedWeight quantized, Tensor? bias, QuantizationOptions options) : base(nameof(Linear4bit))
    {
        options.Validate();
        if (quantized.Shape.Length != 2)
            throw new ArgumentException($"Linear4bit needs a 2-D weight (out_features, in_features), got shape [{string.Join(", ", quantized.Shape)}].", nameof(quantized));
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != quantized.Shape[0]))
            throw new ArgumentException($"The bias must have shape [{quantized.Shape[0]}], got [{string.Join(", ", bias.shape)}].", nameof(bias));
        Options = options with { BlockSize = quantized.BlockSize, DoubleQuant = quantized.DoubleQuantized is not null,
                                 DoubleQuantBlockSize = quantized.DoubleQuantized?.BlockSize ?? options.DoubleQuantBlockSize };
        shape = quantized.Shape;
        // Detached from any dispose scope: the module, not the caller's scope, owns them from now on.
        weight = quantized.Packed.DetachFromDisposeScope();
        absmax = quantized.Absmax?.DetachFromDisposeScope();
        absmax_codes = quantized.DoubleQuantized?.Codes.DetachFromDisposeScope();
        absmax_scales = quantized.DoubleQuantized?.Scales.DetachFromDisposeScope();
        absmax_mean = quantized.DoubleQuantized?.Mean.DetachFromDisposeScope();
        if (bias is not null)
        {
            using var noGrad = no_grad();
            // Detached like the buffers: built inside a caller's dispose scope (e.g. while loading), it must outlive it.
            this.bias = (Parameter)new Parameter(bias.detach().clone(), requires_grad: false).DetachFromDisposeScope();
        }
        RegisterComponents();
    }

    /// <summary>
    /// Quantizes a GPT-2 <see cref="Models.Conv1D"/> (weight stored (in, out)) as a linear layer: its transposed weight
    /// (out, in) goes to NF4, as bitsandbytes does for Conv1D; <see cref="FromConv1D"/> records it so that merging gives a
    /// Conv1D back. <paramref name="conv"/> is left unchanged.
    /// </summary>
    public static Linear4bit FromConv1D(Models.Conv1D conv, QuantizationOptions? options = null)
    {
        options ??= new QuantizationOptions();
        using var outIn = conv.Weight.t();  // (out, in)
        var quantized = QuantizedWeight.Quantize(outIn.contiguous(), options);
        return new Linear4bit(quantized, conv.Bias, options) { WasConv1D = true };
    }

    /// <summary>
    /// Whether the layer was quantized from a GPT-2 Conv1D (<see cref="FromConv1D"/>), so a dequantizing merge should
    /// rebuild a Conv1D with its (in, out) weight and keep the model's Hugging Face layout.
    /// </summary>
    public bool WasConv1D { get; init; }

    /// <summary>Quantizes <paramref name="linear"/>'s weight to NF4 and copies its bias; <paramref name="linear"/> is left unchanged.</summary>
    public static Linear4bit FromLinear(Linear linear, QuantizationOptions? options = null)
    {
        options ??= new QuantizationOptions();
        var quantized = QuantizedWeight.Quantize(linear.weight!, options);
        return new Linear4bit(quantized, linear.bias, options);
    }

    /// <summary>The options (block sizes, double quantization, compute dtype) of this layer.</summary>
    public QuantizationOptions Options { get; }

    /// <summary>Input features.</summary>
    public long InFeatures => shape[1];

    /// <summary>Output features.</summary>
    public long OutFeatures => shape[0];

    /// <summary>The packed uint8 weight buffer, shape (out * in / 2).</summary>
    public Tensor PackedWeight => weight;

    /// <summary>The frozen bias parameter, or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>
    /// Bytes held by the frozen weight: packed codes plus quantization state (absmax, or int8 codes + scales + mean).
    /// The bias is not counted (it is kept in its original dtype).
    /// </summary>
    public long FrozenBytes => weight.numel() + new[] { absmax, absmax_codes, absmax_scales, absmax_mean }
        .Sum(t => t is null ? 0 : t.numel() * t.element_size());

    /// <summary>The dequantized weight, shape (out_features, in_features), in <paramref name="dtype"/> (default: the compute dtype).</summary>
    public Tensor Dequantize(ScalarType? dtype = null)
    {
        using var scales = BlockScales();
        return BlockwiseNf4.Dequantize(weight, scales, shape, dtype ?? Options.ComputeDType);
    }

    /// <summary>
    /// y = x W^T + b with W dequantized into the compute dtype for this call only.
    /// The input is cast to the compute dtype and the result back to the input's dtype.
    /// </summary>
    /// <param name="input">(..., in_features).</param>
    /// <returns>(..., out_features) in the input's dtype.</returns>
    /// <exception cref="InvalidOperationException">The bias was made trainable (<c>requires_grad = true</c>) and autograd is on: the 4-bit base is frozen.</exception>
    public override Tensor forward(Tensor input)
    {
        // The codes are a uint8 buffer and cannot require grad at all; a bias switched to trainable by hand would
        // train a part of the base silently, so it is refused here, where every path (optimizer or not) passes.
        if (bias is { requires_grad: true } && is_grad_enabled())
            throw new InvalidOperationException(
                "Linear4bit is a frozen 4-bit base layer: its bias has requires_grad = true, but quantized base layers cannot be trained. " +
                "Train LoRA adapters over it (QLoRA), or load the model in full precision.");
        using var scope = NewDisposeScope();
        var compute = Options.ComputeDType;
        var w = Dequantize(compute);                                     // (out, in), no grad
        var b = bias?.to(compute);
        var y = nn.functional.linear(input.to(compute), w, b);           // gradients flow to the input only
        return y.to(input.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Device moves apply to every tensor; dtype casts (<c>module.to(bfloat16)</c>) apply only to the bias.
    /// The codes are integers anyway, but casting the fp32 absmax state would change every dequantized weight.
    /// </summary>
    protected override void _toEpilog(ScalarType? dtype, Device? device, bool non_blocking)
    {
        if (device is not null) base._toEpilog(null, device, non_blocking);
        if (dtype is null || bias is null || bias.dtype == dtype.Value) return;
        using (no_grad())
        {
            var cast = new Parameter(bias.to(dtype.Value), requires_grad: false);
            bias.Dispose();
            bias = cast;
            ConditionallyRegisterParameter(nameof(bias), cast);
        }
    }

    Tensor BlockScales() => absmax is not null
        ? absmax.to(ScalarType.Float32, copy: true)
        : DoubleQuantizedAbsmax.Dequantize(absmax_codes!, absmax_scales!, absmax_mean!, Options.DoubleQuantBlockSize);
}
