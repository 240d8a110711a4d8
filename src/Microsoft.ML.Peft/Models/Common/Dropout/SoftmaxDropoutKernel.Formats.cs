using System.Runtime.Intrinsics;

namespace Microsoft.ML.Peft.Models.Common;

/// <summary>The element types the softmax-dropout kernels read and write: fp32 as is, bf16 through fp32 lanes.</summary>
internal static partial class SoftmaxDropoutKernel
{
    /// <summary>How one element type is read into and written from fp32 lanes.</summary>
    interface IElementFormat
    {
        static abstract int Size { get; }
        static abstract unsafe Vector512<float> Load(byte* row, int j);
        static abstract unsafe void Store(byte* row, int j, Vector512<float> value);
        static abstract unsafe float LoadOne(byte* row, int j);
        static abstract unsafe void StoreOne(byte* row, int j, float value);
    }

    readonly struct Float32 : IElementFormat
    {
        public static int Size => 4;
        public static unsafe Vector512<float> Load(byte* row, int j) => Vector512.Load((float*)row + j);
        public static unsafe void Store(byte* row, int j, Vector512<float> value) => Vector512.Store(value, (float*)row + j);
        public static unsafe float LoadOne(byte* row, int j) => ((float*)row)[j];
        public static unsafe void StoreOne(byte* row, int j, float value) => ((float*)row)[j] = value;
    }

    /// <summary>bf16: the upper half of an fp32; written rounded to nearest even, as libtorch's conversion does.</summary>
    readonly struct BFloat16 : IElementFormat
    {
        public static int Size => 2;

        public static unsafe Vector512<float> Load(byte* row, int j) =>
            (Vector512.WidenLower(Vector256.Load((ushort*)row + j).ToVector512Unsafe()) << 16).AsSingle();

        public static unsafe void Store(byte* row, int j, Vector512<float> value)
        {
            var bits = value.AsUInt32();
            var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512.Create(1u))) >> 16;
            var quietNaN = Vector512.ConditionalSelect(Vector512.Equals(value, value).AsUInt32(), rounded, Vector512.Create(0x7FC0u));
            Vector512.Narrow(quietNaN, quietNaN).GetLower().Store((ushort*)row + j);
        }

        public static unsafe float LoadOne(byte* row, int j) => ToSingle(((ushort*)row)[j]);
        public static unsafe void StoreOne(byte* row, int j, float value) => ((ushort*)row)[j] = Round(value);

        public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

        public static ushort Round(float value) => float.IsNaN(value) ? (ushort)0x7FC0 : DropoutMask.BFloat16Bits(value);
    }
}
