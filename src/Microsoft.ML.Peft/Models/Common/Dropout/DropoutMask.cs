using Microsoft.ML.Peft.Core;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Common;

/// <summary>
/// Samples an inverted-dropout mask on the CPU: each element is 0 with probability p and 1 / (1 - p) otherwise.
/// </summary>
/// <remarks>
/// Why not <c>bernoulli_</c>: libtorch draws CPU Bernoulli samples one element at a time from a locked Mersenne
/// Twister, about 8-13 ns an element here. The attention-probability dropout of one MiniLM layer at batch 16 × 128
/// (3.1M elements) then costs 30-40 ms, several times the bf16 matmuls of the whole layer. Here the bits come from a
/// counter-based generator: word w is SplitMix64's finaliser applied to seed + w · golden, and gives the 16-bit
/// uniforms of elements 4w..4w+3. Words are independent of each other, so the mask is filled 32 elements per AVX-512
/// step (16 with 256-bit vectors) on every core, straight into the tensor's memory (0.12 ns an element on one core
/// here; 0.28 ns with 256-bit vectors, which recompute every counter), and the result does
/// not depend on how the work is split. The seed is one draw from torch's generator, so <c>manual_seed</c>,
/// checkpointed RNG state and resume give bit-identical masks. An element is kept when its uniform u ≥ round(p · 65536):
/// the realised drop probability is within 7.7e-6 of p.
/// </remarks>
internal static class DropoutMask
{
    const ulong Golden = 0x9E3779B97F4A7C15UL;
    const int ElementsPerTask = 1 << 16;  // a multiple of 32, so every task but the last runs whole SIMD steps

    /// <summary>Whether <see cref="Sample"/> can make a mask like <paramref name="x"/>: a CPU fp32/bf16/fp16 tensor under 2 GiB.</summary>
    public static bool Covers(Tensor x) =>
        x.device_type == DeviceType.CPU && x.dtype is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16
        && x.numel() * x.ElementSize <= int.MaxValue;

    /// <summary>A contiguous CPU tensor of <paramref name="shape"/> and <paramref name="dtype"/> holding 0 or 1 / (1 - p).</summary>
    /// <param name="shape">The mask's shape.</param>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="dtype">Float32, BFloat16 or Float16.</param>
    public static Tensor Sample(long[] shape, double p, ScalarType dtype)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "The dropout probability must be in [0, 1).");
        ulong seed = DrawSeed();
        var mask = empty(shape, dtype);
        long count = mask.numel();
        ushort threshold = Threshold(p);
        float scale = (float)(1 / (1 - p));
        unsafe
        {
            fixed (byte* start = mask.bytes)
            {
                var address = (IntPtr)start;
                int tasks = (int)((count + ElementsPerTask - 1) / ElementsPerTask);
                TorchThreadTeam.For(tasks, t =>
                {
                    long from = (long)t * ElementsPerTask, to = Math.Min(count, from + ElementsPerTask);
                    switch (dtype)
                    {
                        case ScalarType.Float32: Fill32((uint*)address, from, to, seed, threshold, BitConverter.SingleToUInt32Bits(scale)); break;
                        case ScalarType.BFloat16: Fill16((ushort*)address, from, to, seed, threshold, BFloat16Bits(scale)); break;
                        case ScalarType.Float16: Fill16((ushort*)address, from, to, seed, threshold, BitConverter.HalfToUInt16Bits((Half)scale)); break;
                        default: throw new NotSupportedException($"Dropout masks are sampled for fp32, bf16 and fp16, not {dtype}.");
                    }
                });
            }
        }
        return mask;
    }

    /// <summary>One draw from torch's default generator: the seed of a mask, so that <c>manual_seed</c> and resume replay it.</summary>
    public static ulong DrawSeed()
    {
        using var draw = randint(long.MaxValue, new long[] { 1 }, dtype: ScalarType.Int64);  // released now, not at the scope's end
        return (ulong)draw.item<long>();
    }

    /// <summary>The 16-bit uniform below which an element is dropped: round(p · 65536), at most 65535.</summary>
    public static ushort Threshold(double p) => (ushort)Math.Min(65535, Math.Round(p * 65536));

    /// <summary>
    /// Writes, for elements [<paramref name="from"/>, from + <paramref name="count"/>) of the mask of
    /// <paramref name="seed"/>, 0xFFFF where the element is kept and 0 where it is dropped, into lanes[0..count): the
    /// same decisions as <see cref="Sample"/> makes for those elements of a tensor of that seed.
    /// </summary>
    public static unsafe void WriteKeepLanes(ushort* lanes, long from, int count, ulong seed, ushort threshold) =>
        Fill16(lanes - from, from, from + count, seed, threshold, 0xFFFF);

    /// <summary>
    /// Whether masks are filled 32 elements per step with 512-bit vectors (when the hardware has them) rather than 16
    /// with 256-bit ones; the masks are the same either way. Settable so tests can compare the two paths.
    /// </summary>
    internal static bool UseVector512 { get; set; } = Vector512.IsHardwareAccelerated;

    /// <summary>Writes the 32-bit pattern <paramref name="keep"/> or zero into elements [from, to); from is a multiple of 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Fill32(uint* mask, long from, long to, ulong seed, ushort threshold, uint keep)
    {
        long i = from;
        if (UseVector512)
        {
            var keepBits = Vector512.Create(keep);
            var words = FirstWords512(i, seed);
            for (; i + 32 <= to; i += 32, words += WordStride512)
            {
                var (low, high) = Vector512.Widen(KeepLanes(words, threshold));  // 2 × 16 lanes of 0xFFFF or 0
                Vector512.Store(keepBits & Vector512.Equals(low, Vector512.Create(0xFFFFu)), mask + i);
                Vector512.Store(keepBits & Vector512.Equals(high, Vector512.Create(0xFFFFu)), mask + i + 16);
            }
        }
        else
        {
            var keepBits = Vector256.Create(keep);
            for (; i + 16 <= to; i += 16)
            {
                var (low, high) = Vector256.Widen(KeepLanes(i, seed, threshold));  // 2 × 8 lanes of 0xFFFF or 0
                Vector256.Store(keepBits & Vector256.Equals(low, Vector256.Create(0xFFFFu)), mask + i);
                Vector256.Store(keepBits & Vector256.Equals(high, Vector256.Create(0xFFFFu)), mask + i + 8);
            }
        }
        for (; i < to; i++) mask[i] = Uniform(i, seed) >= threshold ? keep : 0;
    }

    /// <summary>
    /// Writes the 16-bit pattern <paramref name="keep"/> (bf16 or fp16) or zero into elements [from, to); the vector
    /// steps start at the first element of a word (a multiple of 4), the elements before it are done one by one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Fill16(ushort* mask, long from, long to, ulong seed, ushort threshold, ushort keep)
    {
        long i = from;
        for (; (i & 3) != 0 && i < to; i++) mask[i] = Uniform(i, seed) >= threshold ? keep : (ushort)0;
        if (UseVector512)
        {
            var keepBits = Vector512.Create(keep);
            var words = FirstWords512(i, seed);
            for (; i + 32 <= to; i += 32, words += WordStride512)
                Vector512.Store(keepBits & KeepLanes(words, threshold), mask + i);
        }
        else
        {
            var keepBits = Vector256.Create(keep);
            for (; i + 16 <= to; i += 16)
                Vector256.Store(keepBits & KeepLanes(i, seed, threshold), mask + i);
        }
        for (; i < to; i++) mask[i] = Uniform(i, seed) >= threshold ? keep : (ushort)0;
    }

    /// <summary>The 8 hashed counters (w · golden + seed) of the words holding elements i..i+31; i a multiple of 4.</summary>
    static Vector512<ulong> FirstWords512(long i, ulong seed) =>
        (Vector512.Create((ulong)(i >> 2)) + Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7)) * Vector512.Create(Golden) + Vector512.Create(seed);

    /// <summary>What one 32-element step adds to every counter: 8 words × golden (wrapping, as the scalar path does).</summary>
    static readonly Vector512<ulong> WordStride512 = Vector512.Create(unchecked(8 * Golden));

    /// <summary>Elements of the 8 words <paramref name="words"/> (32 lanes): 0xFFFF where kept, 0 where dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ushort> KeepLanes(Vector512<ulong> words, ushort threshold) =>
        Vector512.GreaterThanOrEqual(Mix(words).AsUInt16(), Vector512.Create(threshold));  // little-endian: word w's 4 uniforms in order

    /// <summary>Elements i..i+15 (i a multiple of 4): 0xFFFF where kept, 0 where dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ushort> KeepLanes(long i, ulong seed, ushort threshold)
    {
        var words = Vector256.Create((ulong)(i >> 2)) + Vector256.Create(0UL, 1UL, 2UL, 3UL);
        var uniforms = Mix(words * Vector256.Create(Golden) + Vector256.Create(seed)).AsUInt16();  // little-endian: word w's 4 uniforms in order
        return Vector256.GreaterThanOrEqual(uniforms, Vector256.Create(threshold));
    }

    /// <summary>The 16-bit uniform of element <paramref name="i"/>, as the SIMD paths compute it.</summary>
    static ushort Uniform(long i, ulong seed) => (ushort)(Mix((ulong)(i >> 2) * Golden + seed) >> (16 * (int)(i & 3)));

    /// <summary>SplitMix64's finaliser: a bijective mix whose outputs over consecutive counters pass BigCrush.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Mix(Vector512<ulong> z)
    {
        z = (z ^ (z >> 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ (z >> 27)) * Vector512.Create(0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ulong> Mix(Vector256<ulong> z)
    {
        z = (z ^ (z >> 30)) * Vector256.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ (z >> 27)) * Vector256.Create(0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    /// <summary>The bf16 bit pattern of <paramref name="value"/>, rounded to nearest even as libtorch's conversion does.</summary>
    internal static ushort BFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
}
