using System.Buffers.Binary;
using Onnx;

namespace Microsoft.ML.Peft.Onnx.Graph;

/// <summary>Decodes ONNX TensorProto payloads (raw little-endian bytes or typed repeated fields).</summary>
internal static class OnnxTensors
{
    // TensorProto.DataType codes from onnx.proto.
    const int Float = 1, Int32 = 6, Int64 = 7, Float16 = 10, Double = 11, BFloat16 = 16;

    /// <summary>The tensor's dimensions.</summary>
    public static long[] Shape(TensorProto tensor) => tensor.Dims.ToArray();

    /// <summary>The tensor's values as float32, converting from float16, bfloat16 or float64.</summary>
    public static float[] Floats(TensorProto tensor)
    {
        ThrowIfExternal(tensor);
        var raw = tensor.RawData.Span;
        switch (tensor.DataType)
        {
            case Float:
                if (raw.Length == 0) return tensor.FloatData.ToArray();
                var floats = new float[raw.Length / 4];
                for (int i = 0; i < floats.Length; i++) floats[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
                return floats;
            case Double:
                if (raw.Length == 0) return tensor.DoubleData.Select(d => (float)d).ToArray();
                var doubles = new float[raw.Length / 8];
                for (int i = 0; i < doubles.Length; i++) doubles[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]);
                return doubles;
            case Float16:
            case BFloat16:
                // 16-bit types live in raw_data, or one value per int32_data entry.
                var bits = tensor.Int32Data.Select(v => (ushort)v).ToArray();
                if (raw.Length > 0)
                {
                    bits = new ushort[raw.Length / 2];
                    for (int i = 0; i < bits.Length; i++) bits[i] = BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]);
                }
                return tensor.DataType == Float16
                    ? bits.Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray()
                    : bits.Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray();
            default:
                throw new NotSupportedException($"Initializer '{tensor.Name}' has ONNX data type {tensor.DataType}, not a floating-point type.");
        }
    }

    /// <summary>The tensor's values as int64 (from int64 or int32 data).</summary>
    public static long[] Int64s(TensorProto tensor)
    {
        ThrowIfExternal(tensor);
        var raw = tensor.RawData.Span;
        int size = tensor.DataType switch
        {
            Int64 => 8,
            Int32 => 4,
            _ => throw new NotSupportedException($"Constant '{tensor.Name}' has ONNX data type {tensor.DataType}, not an integer type."),
        };
        if (raw.Length == 0)
            return size == 8 ? tensor.Int64Data.ToArray() : tensor.Int32Data.Select(v => (long)v).ToArray();
        var values = new long[raw.Length / size];
        for (int i = 0; i < values.Length; i++)
            values[i] = size == 8 ? BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]) : BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]);
        return values;
    }

    /// <summary>True for float32/float16/bfloat16/float64 tensors.</summary>
    public static bool IsFloating(TensorProto tensor) => tensor.DataType is Float or Float16 or Double or BFloat16;

    /// <summary>A single floating-point value (a scalar or one-element tensor).</summary>
    public static float Scalar(TensorProto tensor)
    {
        var values = Floats(tensor);
        if (values.Length != 1) throw new InvalidDataException($"Constant '{tensor.Name}' has {values.Length} values where a scalar was expected.");
        return values[0];
    }

    /// <summary>Transposes a row-major [rows, cols] matrix to [cols, rows].</summary>
    public static float[] Transpose(float[] data, int rows, int cols)
    {
        var result = new float[data.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                result[c * rows + r] = data[r * cols + c];
        return result;
    }

    static void ThrowIfExternal(TensorProto tensor)
    {
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            throw new NotSupportedException($"Initializer '{tensor.Name}' keeps its data in an external file; re-export the model with the weights inside the .onnx file.");
    }
}
