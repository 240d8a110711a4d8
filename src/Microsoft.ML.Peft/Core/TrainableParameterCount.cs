using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Core;

/// <summary>How many parameters a model trains, out of how many it has (adapters included in both).</summary>
/// <param name="Trainable">Elements of parameters with <c>requires_grad</c>.</param>
/// <param name="Total">Elements of all parameters.</param>
public readonly record struct TrainableParameterCount(long Trainable, long Total)
{
    /// <summary>Trainable share in percent.</summary>
    public double Percent => Total == 0 ? 0 : 100.0 * Trainable / Total;

    /// <summary>Counts the parameters of <paramref name="model"/>.</summary>
    public static TrainableParameterCount Of(nn.Module model)
    {
        long trainable = 0, total = 0;
        foreach (var (_, p) in model.named_parameters())
        {
            total += p.numel();
            if (p.requires_grad) trainable += p.numel();
        }
        return new TrainableParameterCount(trainable, total);
    }

    /// <summary>PEFT's <c>print_trainable_parameters</c> line, e.g. <c>trainable params: 73,728 || all params: 22,786,176 || trainable%: 0.3236</c>.</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"trainable params: {Trainable:N0} || all params: {Total:N0} || trainable%: {Percent:F4}");
}
