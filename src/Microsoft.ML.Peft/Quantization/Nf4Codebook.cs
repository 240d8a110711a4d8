using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Quantization;

/// <summary>
/// The 16 values of 4-bit NormalFloat (QLoRA, Dettmers et al. 2023): quantiles of N(0, 1) rescaled to
/// [-1, 1], asymmetric so that 0 is represented exactly (7 negative codes, 0, 8 positive codes).
/// A 4-bit code is the index 0..15 into <see cref="Values"/>.
/// </summary>
public static class Nf4Codebook
{
    // The published values (bitsandbytes get_4bit_type("nf4")), ascending; index = the stored 4-bit code.
    static readonly float[] values =
    {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    };

    // The 15 decision boundaries: a normalised value x gets the code of the nearest value, i.e. the number
    // of midpoints strictly below x (a value exactly on a midpoint goes to the lower code).
    static readonly float[] midpoints = Enumerable.Range(0, 15).Select(i => (values[i] + values[i + 1]) / 2f).ToArray();

    /// <summary>The 16 code values in ascending order; the index of a value is its 4-bit code.</summary>
    public static IReadOnlyList<float> Values => values;

    /// <summary>The 15 midpoints between consecutive code values (the rounding boundaries).</summary>
    public static IReadOnlyList<float> Midpoints => midpoints;

    /// <summary>The code values as a fp32 tensor of shape (16) on <paramref name="device"/>.</summary>
    public static Tensor ValuesTensor(Device? device = null) => tensor(values, device: device);

    /// <summary>The midpoints as a fp32 tensor of shape (15) on <paramref name="device"/>, for <c>bucketize</c>.</summary>
    public static Tensor MidpointsTensor(Device? device = null) => tensor(midpoints, device: device);

}
