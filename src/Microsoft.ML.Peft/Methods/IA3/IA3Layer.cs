using TorchSharp;
using Microsoft.ML.Peft.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.IA3;

/// <summary>
/// The (IA)^3 vector of one targeted <c>Linear</c> or GPT-2 <see cref="Conv1D"/>, registered on it as
/// <c>ia3_l.default</c> (PEFT's in-memory key). Non-feedforward: l (out, 1) scales the output, <c>y = (W x + b) * l</c>,
/// through a forward hook. Feedforward: l (1, in) scales the input, <c>y = W (x * l) + b</c>, through a forward
/// pre-hook. The vector's shape is the same for both layer kinds (PEFT reads a Conv1D's in/out from its (in, out)
/// weight); only merging sees the Conv1D's transposed storage.
/// </summary>
internal sealed class IA3Layer
{
    readonly VectorHolder holder;
    readonly Action removeHook;

    public IA3Layer(string name, nn.Module<Tensor, Tensor> baseLayer, bool isFeedforward)
    {
        Name = name;
        Base = baseLayer;
        IsFeedforward = isFeedforward;
        IsConv1D = baseLayer is Conv1D;
        var w = Weight;  // (out, in), or (in, out) for a Conv1D
        long outFeatures = IsConv1D ? w.shape[1] : w.shape[0], inFeatures = IsConv1D ? w.shape[0] : w.shape[1];
        var shape = isFeedforward ? new[] { 1L, inFeatures } : new[] { outFeatures, 1L };
        holder = new VectorHolder(new Parameter(ones(shape, dtype: w.dtype, device: w.device)));
        baseLayer.register_module("ia3_l", holder);
        removeHook = isFeedforward
            ? baseLayer.register_forward_pre_hook(ScaleInput).remove
            : baseLayer.register_forward_hook(ScaleOutput).remove;
    }

    public string Name { get; }
    public nn.Module<Tensor, Tensor> Base { get; }
    public bool IsFeedforward { get; }

    /// <summary>Whether the base is a Conv1D, whose weight is stored (in, out) (PEFT's <c>fan_in_fan_out</c>).</summary>
    public bool IsConv1D { get; }
    public bool IsMerged { get; private set; }
    public bool Disabled { get; set; }

    /// <summary>The vector: (out, 1), or (1, in) for feedforward layers.</summary>
    public Parameter Vector => holder.Vector;

    /// <summary>
    /// Moves the vector to the weight's dtype and device when they differ: TorchSharp's <c>Linear.to</c> converts only
    /// its own weight and bias, not children (as for LoRA's factors). Every use calls this first.
    /// </summary>
    public void FollowBase()
    {
        var w = Weight;
        if (holder.Vector.dtype != w.dtype) holder.to(w.dtype);
        var v = holder.Vector;
        if (v.device_type != w.device_type || v.device_index != w.device_index) holder.to(w.device);
    }

    /// <summary>The base weight: (out, in), or (in, out) for a Conv1D.</summary>
    Tensor Weight => Base switch
    {
        Linear linear => linear.weight!,
        Conv1D conv => conv.Weight,
        _ => throw new NotSupportedException($"IA3 cannot rescale '{Name}', a {Base.GetType().Name}; only Linear and Conv1D layers."),
    };

    Tensor? Bias => Base switch { Linear linear => linear.bias, Conv1D conv => conv.Bias, _ => null };

    /// <summary>l shaped to broadcast over the stored weight: (out, 1) or (1, in), transposed for a Conv1D's (in, out).</summary>
    Tensor WeightScale() => IsConv1D ? Vector.t() : Vector.alias();

    /// <summary>Folds l into the weights: rows of W and b (output scaling) or columns of W (input scaling).</summary>
    public void Merge()
    {
        if (IsMerged) return;
        FollowBase();
        using var noGrad = no_grad();
        using var scale = WeightScale();
        Weight.mul_(scale);  // (out, in) * (out, 1) or (1, in); Conv1D (in, out) * (1, out) or (in, 1)
        if (!IsFeedforward && Bias is Tensor bias) bias.mul_(Vector.view(-1));
        IsMerged = true;
    }

    /// <summary>Divides l out of the weights again (exact up to float rounding).</summary>
    public void Unmerge()
    {
        if (!IsMerged) return;
        FollowBase();
        using var noGrad = no_grad();
        using var scale = WeightScale();
        Weight.div_(scale);
        if (!IsFeedforward && Bias is Tensor bias) bias.div_(Vector.view(-1));
        IsMerged = false;
    }

    /// <summary>Removes the hook and the vector, leaving a plain Linear (a merged vector stays in W).</summary>
    public void Detach()
    {
        removeHook();
        Base.register_module("ia3_l", null!);  // TorchSharp unregisters a child given null
        holder.Dispose();
    }

    bool Active => !Disabled && !IsMerged;

    Tensor ScaleInput(nn.Module<Tensor, Tensor> module, Tensor input)
    {
        if (!Active) return input;
        FollowBase();
        using var l = Vector.view(-1);
        return input.mul(l);  // (B, T, in) * (in)
    }

    Tensor ScaleOutput(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        if (!Active) return output;
        FollowBase();
        using var l = Vector.view(-1);
        return output.mul(l);  // (B, T, out) * (out)
    }

    /// <summary>Holds the vector as parameter <c>default</c>, so the key reads <c>...key.ia3_l.default</c>.</summary>
    sealed class VectorHolder : nn.Module
    {
        public VectorHolder(Parameter vector) : base("ParameterDict") => register_parameter("default", vector);

        // Read afresh: to() replaces the parameter object.
        public Parameter Vector => get_parameter("default")!;
    }
}
