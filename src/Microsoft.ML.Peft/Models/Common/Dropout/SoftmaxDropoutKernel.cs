using Microsoft.ML.Peft.Core;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Common;

/// <summary>The mask of one dropout: its seed (see <see cref="DropoutMask"/>), drop threshold and the scale of kept elements.</summary>
internal readonly record struct DropoutDraw(ulong Seed, ushort Threshold, float Scale);

/// <summary>
/// Softmax over the last dimension followed by inverted dropout, forward and backward, one pass over the rows each, on
/// the CPU in fp32 or bf16. libtorch needs three passes over the (B, heads, T, S) tensor forward (softmax, mask, multiply)
/// and two backward, each memory-bound, and autograd keeps the probabilities, the mask and the dropped probabilities.
/// Here the mask is recomputed from its seed where it is needed, so only the probabilities y are kept.
/// </summary>
/// <remarks>
/// Rows are computed in fp32 and rounded once to the tensor's type; exp is a degree-6 polynomial after range reduction
/// (relative error below 2e-7, far under bf16's 4e-3 step). Kept elements are scaled by 1/(1-p) rounded to the tensor's
/// type, as libtorch's and <see cref="FastDropout"/>'s masks are, and the mask is the one <see cref="DropoutMask.Sample"/>
/// draws for the same seed and shape. Every row is independent, so the result does not depend on the thread split.
/// </remarks>
internal static partial class SoftmaxDropoutKernel
{
    const int ElementsPerTask = 1 << 16;

    /// <summary>The longest row (keys per query) handled: each worker keeps one fp32 row of this length on its stack.</summary>
    public const int MaxRowLength = 8192;

    /// <summary>A fresh draw for drop probability <paramref name="p"/> on tensors of <paramref name="dtype"/>.</summary>
    public static DropoutDraw Draw(double p, ScalarType dtype)
    {
        float scale = (float)(1 / (1 - p));
        if (dtype == ScalarType.BFloat16) scale = BFloat16.ToSingle(BFloat16.Round(scale));
        return new DropoutDraw(DropoutMask.DrawSeed(), DropoutMask.Threshold(p), scale);
    }

    /// <summary>
    /// Replaces <paramref name="scores"/> s (…, S) in place by y = softmax(c · s), c = <paramref name="scoreScale"/> &gt; 0
    /// (attention's 1/√d, applied here rather than as a pass of its own), and writes y · keep · scale into
    /// <paramref name="dropped"/> (same shape and type). A <paramref name="keyMask"/> (see <see cref="KeyMaskLayout"/>)
    /// is applied as the scores are read; null for none.
    /// </summary>
    public static void Forward(Tensor scores, Tensor dropped, DropoutDraw draw, float scoreScale = 1, KeyMaskLayout? keyMask = null) =>
        ForEachRowBlock(scores, dropped, scores, draw, scoreScale, keyMask, forward: true);

    /// <summary>
    /// Given the probabilities y and, in <paramref name="gradient"/>, ∂L/∂(dropped y): overwrites <paramref name="gradient"/>
    /// with ∂L/∂s = c · y ⊙ (g − Σ g ⊙ y) where g = ∂L/∂(dropped y) ⊙ keep · scale and c = <paramref name="scoreScale"/>
    /// as in <see cref="Forward"/>, and writes the dropped probabilities y · keep · scale again into
    /// <paramref name="dropped"/> (the value gradient needs them).
    /// </summary>
    public static void Backward(Tensor probabilities, Tensor gradient, Tensor dropped, DropoutDraw draw, float scoreScale = 1) =>
        ForEachRowBlock(probabilities, dropped, gradient, draw, scoreScale, keyMask: null, forward: false);

    static unsafe void ForEachRowBlock(Tensor probabilities, Tensor dropped, Tensor gradient, DropoutDraw draw, float scoreScale,
                                       KeyMaskLayout? keyMask, bool forward)
    {
        foreach (var t in new[] { probabilities, dropped, gradient })
            if (t.device_type != DeviceType.CPU || !t.is_contiguous() || t.dtype != probabilities.dtype || !t.shape.SequenceEqual(probabilities.shape))
                throw new ArgumentException("The softmax-dropout kernels need contiguous CPU tensors of one shape and type.");
        if (probabilities.dtype is not (ScalarType.Float32 or ScalarType.BFloat16) || probabilities.shape[^1] is < 1 or > MaxRowLength)
            throw new ArgumentException($"The softmax-dropout kernels take fp32 or bf16 rows of 1 to {MaxRowLength} elements, not {probabilities.dtype} rows of {probabilities.shape[^1]}.");
        int length = (int)probabilities.shape[^1];
        long rows = probabilities.numel() / length;
        long rowsPerTask = Math.Max(1, ElementsPerTask / length);
        bool bf16 = probabilities.dtype == ScalarType.BFloat16;
        fixed (byte* y = probabilities.bytes, d = dropped.bytes, g = gradient.bytes)
        {
            IntPtr yAddress = (IntPtr)y, dAddress = (IntPtr)d, gAddress = (IntPtr)g;
            int taskCount = (int)((rows + rowsPerTask - 1) / rowsPerTask);
            Action<int> body = task =>
            {
                long first = task * rowsPerTask, end = Math.Min(rows, first + rowsPerTask);
                var block = new RowBlock(yAddress, dAddress, gAddress, first, end, length, draw, scoreScale, keyMask);
                if (forward && bf16) block.Forward<BFloat16>();
                else if (forward) block.Forward<Float32>();
                else if (bf16) block.Backward<BFloat16>();
                else block.Backward<Float32>();
            };
            TorchThreadTeam.For(taskCount, body);
        }
    }

    /// <summary>Rows [First, End) of row length <c>Length</c>; the addresses are the tensors' first elements.</summary>
    readonly record struct RowBlock(IntPtr Probabilities, IntPtr Dropped, IntPtr Gradient, long First, long End, int Length,
                                    DropoutDraw Draw, float ScoreScale, KeyMaskLayout? KeyMask)
    {
        /// <summary>The keep lanes of all the block's rows, drawn in one call (per row, the draw's set-up would cost as much as the row).</summary>
        unsafe KeepLaneBlock KeepLanes()
        {
            int count = (int)((End - First) * Length);
            var lanes = new KeepLaneBlock(ArrayPool<ushort>.Shared.Rent(count), First, Length);
            fixed (ushort* start = lanes.Lanes) DropoutMask.WriteKeepLanes(start, First * Length, count, Draw.Seed, Draw.Threshold);
            return lanes;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public unsafe void Forward<T>() where T : struct, IElementFormat
        {
            float* values = stackalloc float[Length];
            using var keepLanes = KeepLanes();
            var scale = Vector512.Create(Draw.Scale);
            for (long row = First; row < End; row++)
            {
                long offset = row * Length;
                ushort* keep = keepLanes.Row(row);
                byte* s = (byte*)Probabilities + offset * T.Size, d = (byte*)Dropped + offset * T.Size;
                int j = 0;
                if (KeyMask is { } keyMask) ApplyKeyMask<T>(s, keyMask.Row(row), keyMask.MaskedScore);
                var max = Vector512.Create(float.NegativeInfinity);
                for (; j + 16 <= Length; j += 16) max = Vector512.Max(max, T.Load(s, j));
                float rowMax = HorizontalMax(max);
                for (; j < Length; j++) rowMax = MathF.Max(rowMax, T.LoadOne(s, j));

                // e^(c·(s − max)) as one multiply-add per lane: c·s − c·max.
                var sum = Vector512<float>.Zero;
                var c = Vector512.Create(ScoreScale);
                var shift = Vector512.Create(-ScoreScale * rowMax);
                for (j = 0; j + 16 <= Length; j += 16)
                {
                    var e = Exp(Vector512.FusedMultiplyAdd(T.Load(s, j), c, shift));
                    Vector512.Store(e, values + j);
                    sum += e;
                }
                float rowSum = Vector512.Sum(sum);
                for (; j < Length; j++) rowSum += values[j] = MathF.Exp(ScoreScale * (T.LoadOne(s, j) - rowMax));

                var inverse = Vector512.Create(1 / rowSum);
                for (j = 0; j + 16 <= Length; j += 16)
                {
                    var y = Vector512.Load(values + j) * inverse;
                    T.Store(s, j, y);
                    T.Store(d, j, KeepOrZero(y * scale, keep + j));
                }
                for (; j < Length; j++)
                {
                    float y = values[j] / rowSum;
                    T.StoreOne(s, j, y);
                    T.StoreOne(d, j, keep[j] != 0 ? y * Draw.Scale : 0);
                }
            }
        }

        /// <summary>
        /// Writes <paramref name="maskedScore"/> over the scores of row <paramref name="s"/> whose mask byte is 0; a
        /// stretch of 16 keys that may all be attended to (the usual case) is only read, not written.
        /// </summary>
        unsafe void ApplyKeyMask<T>(byte* s, byte* mask, float maskedScore) where T : struct, IElementFormat
        {
            var masked = Vector512.Create(maskedScore);
            int j = 0;
            for (; j + 16 <= Length; j += 16)
            {
                var hidden = Vector128.Equals(Vector128.Load(mask + j), Vector128<byte>.Zero);
                if (hidden == Vector128<byte>.Zero) continue;
                var lanes = Vector512.WidenLower(Vector256.WidenLower(hidden.ToVector256Unsafe()).ToVector512Unsafe());  // 0xFF or 0 per 32-bit lane
                var select = Vector512.GreaterThan(lanes, Vector512<uint>.Zero).AsSingle();
                T.Store(s, j, Vector512.ConditionalSelect(select, masked, T.Load(s, j)));
            }
            for (; j < Length; j++)
                if (mask[j] == 0) T.StoreOne(s, j, maskedScore);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public unsafe void Backward<T>() where T : struct, IElementFormat
        {
            float* upstream = stackalloc float[Length];  // ∂L/∂y = ∂L/∂(dropped y) · keep · scale
            using var keepLanes = KeepLanes();
            var scale = Vector512.Create(Draw.Scale);
            for (long row = First; row < End; row++)
            {
                long offset = row * Length;
                byte* p = (byte*)Probabilities + offset * T.Size, d = (byte*)Dropped + offset * T.Size, g = (byte*)Gradient + offset * T.Size;
                ushort* keep = keepLanes.Row(row);
                var dot = Vector512<float>.Zero;
                int j = 0;
                for (; j + 16 <= Length; j += 16)
                {
                    var y = T.Load(p, j);
                    var gy = KeepOrZero(T.Load(g, j) * scale, keep + j);
                    Vector512.Store(gy, upstream + j);
                    dot += gy * y;
                    T.Store(d, j, KeepOrZero(y * scale, keep + j));
                }
                float rowDot = Vector512.Sum(dot);
                for (; j < Length; j++)
                {
                    float y = T.LoadOne(p, j);
                    float gy = keep[j] != 0 ? T.LoadOne(g, j) * Draw.Scale : 0;
                    upstream[j] = gy;
                    rowDot += gy * y;
                    T.StoreOne(d, j, keep[j] != 0 ? y * Draw.Scale : 0);
                }
                var shift = Vector512.Create(rowDot);
                var c = Vector512.Create(ScoreScale);
                for (j = 0; j + 16 <= Length; j += 16)
                    T.Store(g, j, T.Load(p, j) * c * (Vector512.Load(upstream + j) - shift));
                for (; j < Length; j++) T.StoreOne(g, j, T.LoadOne(p, j) * ScoreScale * (upstream[j] - rowDot));
            }
        }
    }

    /// <summary>Pooled keep lanes (0xFFFF or 0) of consecutive rows starting at row <c>first</c>; pinned while in use.</summary>
    readonly struct KeepLaneBlock : IDisposable
    {
        readonly GCHandle pin;
        readonly long first;
        readonly int length;

        public KeepLaneBlock(ushort[] lanes, long first, int length)
        {
            Lanes = lanes;
            pin = GCHandle.Alloc(lanes, GCHandleType.Pinned);
            (this.first, this.length) = (first, length);
        }

        public ushort[] Lanes { get; }

        public unsafe ushort* Row(long row) => (ushort*)pin.AddrOfPinnedObject() + (row - first) * length;

        public void Dispose()
        {
            pin.Free();
            ArrayPool<ushort>.Shared.Return(Lanes);
        }
    }

    /// <summary><paramref name="x"/> where the 16 keep lanes at <paramref name="keep"/> are 0xFFFF, 0 where they are 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector512<float> KeepOrZero(Vector512<float> x, ushort* keep)
    {
        var lanes = Vector512.WidenLower(Vector256.Load(keep).ToVector512Unsafe());  // 0xFFFF or 0 per 32-bit lane
        return (x.AsUInt32() & Vector512.Equals(lanes, Vector512.Create(0xFFFFu))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float HorizontalMax(Vector512<float> v)
    {
        var half = Vector256.Max(v.GetLower(), v.GetUpper());
        var quarter = Vector128.Max(half.GetLower(), half.GetUpper());
        return MathF.Max(MathF.Max(quarter[0], quarter[1]), MathF.Max(quarter[2], quarter[3]));
    }

    /// <summary>
    /// e^x for x ≤ 0 (softmax's shifted scores): 2^n · e^r with n = round(x / ln 2) and e^r by its degree-6 Taylor
    /// polynomial on |r| ≤ ln 2 / 2. n is rounded by adding 1.5 · 2^23, which leaves it in the low mantissa bits, so the
    /// same sum also gives the exponent bits of 2^n. Below −87 (where e^x leaves fp32's normal range) the result is
    /// exactly 0, so masked keys get no weight at all.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Exp(Vector512<float> x)
    {
        var clamped = Vector512.Max(x, Vector512.Create(-87f));
        var magic = Vector512.Create(12582912f);  // 1.5 · 2^23
        var shifted = Vector512.FusedMultiplyAdd(clamped, Vector512.Create(1.44269504f), magic);
        var n = shifted - magic;
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693145752f), clamped);  // ln 2 split in two for accuracy
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-1.42860677e-6f), r);
        var poly = Vector512.FusedMultiplyAdd(Vector512.Create(1f / 720), r, Vector512.Create(1f / 120));
        poly = Vector512.FusedMultiplyAdd(poly, r, Vector512.Create(1f / 24));
        poly = Vector512.FusedMultiplyAdd(poly, r, Vector512.Create(1f / 6));
        poly = Vector512.FusedMultiplyAdd(poly, r, Vector512.Create(0.5f));
        poly = Vector512.FusedMultiplyAdd(poly, r, Vector512<float>.One);
        poly = Vector512.FusedMultiplyAdd(poly, r, Vector512<float>.One);
        // shifted's low bits hold n (two's complement); shifting by 23 drops the magic's bits and leaves n as the exponent.
        var twoToN = ((shifted.AsInt32() << 23) + Vector512.Create(127 << 23)).AsSingle();
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(-87f)), Vector512<float>.Zero, poly * twoToN);
    }
}
