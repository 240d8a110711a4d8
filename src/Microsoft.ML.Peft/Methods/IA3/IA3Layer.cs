using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.IA3;

/// <summary>
/// The (IA)^3 vector of one targeted <c>Linear</c>, registered on it as <c>ia3_l.default</c> (PEFT's in-memory key).
/// Non-feedforward: l (out, 1) scales the output, <c>y = (W x + b) * l</c>, through a forward hook. Feedforward:
/// l (1, in) scales the input, <c>y = W (x * l) + b</c>, through a forward pre-hook.
/// </summary>
internal sealed class IA3Layer
{
    readonly VectorHolder holder;
    readonly Action removeHook;

    public IA3Layer(string name, Linear baseLayer, bool isFeedforward)
    {
        Name = name;
        Base = baseLayer;
        IsFeedforward = isFeedforward;
        var w = baseLayer.weight!;  // (out, in)
        var shape = isFeedforward ? new[] { 1L, w.shape[1] } : new[] { w.shape[0], 1L };
        holder = new VectorHolder(new Parameter(ones(shape, dtype: w.dtype, device: w.device)));
        baseLayer.register_module("ia3_l", holder);
        removeHook = isFeedforward
            ? baseLayer.register_forward_pre_hook(ScaleInput).remove
            : baseLayer.register_forward_hook(ScaleOutput).remove;
    }

    public string Name { get; }
    public Linear Base { get; }
    public bool IsFeedforward { get; }
    public bool IsMerged { get; private set; }
    public bool Disabled { get; set; }

    /// <summary>The vector: (out, 1), or (1, in) for feedforward layers.</summary>
    public Parameter Vector => holder.Vector;

    /// <summary>Folds l into the weights: rows of W and b (output scaling) or columns of W (input scaling).</summary>
    public void Merge()
    {
        if (IsMerged) return;
        using var noGrad = no_grad();
        Base.weight!.mul_(Vector);  // (out, in) * (out, 1) or (1, in)
        if (!IsFeedforward && Base.bias is not null) Base.bias.mul_(Vector.view(-1));
        IsMerged = true;
    }

    /// <summary>Divides l out of the weights again (exact up to float rounding).</summary>
    public void Unmerge()
    {
        if (!IsMerged) return;
        using var noGrad = no_grad();
        Base.weight!.div_(Vector);
        if (!IsFeedforward && Base.bias is not null) Base.bias.div_(Vector.view(-1));
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
        using var l = Vector.view(-1);
        return input.mul(l);  // (B, T, in) * (in)
    }

    Tensor ScaleOutput(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        if (!Active) return output;
        using var l = Vector.view(-1);
        return output.mul(l);  // (B, T, out) * (out)
    }

    /// <summary>Holds the vector as parameter <c>default</c>, so the key reads <c>...key.ia3_l.default</c>.</summary>
    sealed class VectorHolder : nn.Module
    {
        public VectorHolder(Parameter vector) : base("ParameterDict")
        {
            Vector = vector;
            register_parameter("default", vector);
        }

        public Parameter Vector { get; }
    }
}
