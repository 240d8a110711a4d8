using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Common;

/// <summary>
/// dropout(softmax(q kᵀ/√d + mask)) v as one autograd node, for CPU training: the softmax and the dropout run as one pass
/// each way (<see cref="SoftmaxDropoutKernel"/>), and the node keeps q, k, v and the probabilities, not also the mask
/// and the dropped probabilities as the chain of libtorch operations does (two (B, heads, T, S) tensors less per layer).
/// </summary>
/// <remarks>
/// Arguments of <c>apply</c>: q (B, heads, T, d), k and v (B, heads, S, d), and a <see cref="Settings"/>. The 1/√d
/// scale is applied inside the kernels (no pass of its own over q or the scores), and the dropout mask is drawn once
/// in forward and recomputed from its seed in backward.
/// </remarks>
internal sealed class DropoutAttentionFunction : autograd.SingleTensorFunction<DropoutAttentionFunction>
{
    /// <summary>
    /// What is not a differentiable input: the boolean key mask (null for none), the drop probability, the score that
    /// masked keys get (the lowest finite value of the type) and the score scale (1/√d).
    /// </summary>
    public sealed record Settings(Tensor? Mask, double P, double MaskedScore, double ScoreScale);

    /// <inheritdoc/>
    public override string Name => nameof(DropoutAttentionFunction);

    /// <inheritdoc/>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (q, k, v, settings) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Settings)vars[3]);
        var scores = matmul(q, k.transpose(-1, -2));  // (B, heads, T, S); becomes the probabilities in place
        using var mask = settings.Mask?.contiguous();
        // A padding or causal mask is applied as the kernel reads the scores; another layout by a pass of its own.
        var keyMask = mask is null ? null : KeyMaskLayout.Describe(mask, scores, (float)settings.MaskedScore);
        if (mask is not null && keyMask is null)
        {
            using var hidden = mask.logical_not();
            scores.masked_fill_(hidden, settings.MaskedScore);
        }
        var draw = SoftmaxDropoutKernel.Draw(settings.P, scores.dtype);
        using var dropped = empty_like(scores);
        SoftmaxDropoutKernel.Forward(scores, dropped, draw, (float)settings.ScoreScale, keyMask);
        ctx.save_for_backward(new() { q, k, v, scores });
        ctx.save_data(nameof(DropoutDraw), draw);
        ctx.save_data(nameof(Settings.ScoreScale), settings.ScoreScale);
        return matmul(dropped, v);  // (B, heads, T, d)
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (q, k, v, probabilities) = (saved[0], saved[1], saved[2], saved[3]);
        var draw = (DropoutDraw)ctx.get_data(nameof(DropoutDraw));
        var scoreScale = (double)ctx.get_data(nameof(Settings.ScoreScale));
        var gradient = matmul(grad_output, v.transpose(-1, -2));  // ∂L/∂(dropped probabilities), (B, heads, T, S)
        var dropped = empty_like(probabilities);
        SoftmaxDropoutKernel.Backward(probabilities, gradient, dropped, draw, (float)scoreScale);  // now ∂L/∂(q kᵀ)
        var dq = matmul(gradient, k);
        var dk = matmul(gradient.transpose(-1, -2), q);
        var dv = matmul(dropped.transpose(-1, -2), grad_output);
        // One entry per argument of apply; the settings have no gradient.
        return new() { dq.MoveToOuterDisposeScope(), dk.MoveToOuterDisposeScope(), dv.MoveToOuterDisposeScope(), null! };
    }
}
