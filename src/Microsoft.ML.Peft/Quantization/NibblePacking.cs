using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Quantization;

/// <summary>
/// Packs 4-bit codes two per byte. Nibble order (as in bitsandbytes): element 2i goes in the HIGH nibble
/// of byte i and element 2i+1 in the LOW nibble, so byte = 16 * code[2i] + code[2i+1].
/// All the work is done on uint8 tensors (shifts and masks), never widened to int64.
/// </summary>
public static class NibblePacking
{
    /// <summary>Packs codes (any integer dtype, values 0..15, even element count) into a uint8 tensor of half the length.</summary>
    /// <param name="codes">Codes of any shape; flattened in row-major order.</param>
    /// <returns>uint8 tensor of shape (numel / 2).</returns>
    public static Tensor Pack(Tensor codes)
    {
        long n = codes.numel();
        if (n % 2 != 0)
            throw new ArgumentException($"Two 4-bit codes are packed per byte, so the number of codes must be even; got {n}.", nameof(codes));
        using var scope = NewDisposeScope();
        var pairs = codes.reshape(n / 2, 2).to(ScalarType.Byte);                        // (n/2, 2), values 0..15
        var high = pairs.select(1, 0).bitwise_left_shift(Byte(4));                      // code[2i] << 4
        return high.bitwise_or_(pairs.select(1, 1)).MoveToOuterDisposeScope();          // (n/2) uint8
    }

    /// <summary>Unpacks a uint8 tensor into its codes (uint8, values 0..15), shape (2 * numel), high nibble first.</summary>
    public static Tensor Unpack(Tensor packed)
    {
        if (packed.dtype != ScalarType.Byte)
            throw new ArgumentException($"Packed 4-bit codes must be a uint8 tensor, got {packed.dtype}.", nameof(packed));
        using var scope = NewDisposeScope();
        var bytes = packed.flatten();
        var high = bytes.bitwise_right_shift(Byte(4));
        var low = bytes.bitwise_and(Byte(0x0F));
        return stack(new[] { high, low }, 1).flatten().MoveToOuterDisposeScope();      // (2n): high, low, high, low...
    }

    // A 0-dim uint8 operand for the shift and mask (TorchSharp's bitwise ops take tensors); it lives in the caller's scope.
    static Tensor Byte(byte value) => tensor(value);
}
