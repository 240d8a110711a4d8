using TorchSharp;

namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>Maps between safetensors dtype names ("F32", "BF16", ...) and TorchSharp scalar types.</summary>
public static class SafeTensorsDType
{
    static readonly (string Name, torch.ScalarType Type, int Size)[] Table =
    {
        ("F64", torch.ScalarType.Float64, 8), ("F32", torch.ScalarType.Float32, 4),
        ("F16", torch.ScalarType.Float16, 2), ("BF16", torch.ScalarType.BFloat16, 2),
        ("I64", torch.ScalarType.Int64, 8), ("I32", torch.ScalarType.Int32, 4),
        ("I16", torch.ScalarType.Int16, 2), ("I8", torch.ScalarType.Int8, 1),
        ("U8", torch.ScalarType.Byte, 1), ("BOOL", torch.ScalarType.Bool, 1),
    };

    /// <summary>The TorchSharp type for a safetensors dtype name, or null when the name is not supported.</summary>
    public static torch.ScalarType? TryParse(string name)
    {
        foreach (var row in Table) if (row.Name == name) return row.Type;
        return null;
    }

    /// <summary>The safetensors dtype name of a TorchSharp type.</summary>
    /// <exception cref="NotSupportedException">The type has no safetensors name here (e.g. complex types).</exception>
    public static string NameOf(torch.ScalarType type)
    {
        foreach (var row in Table) if (row.Type == type) return row.Name;
        throw new NotSupportedException($"Tensors of type {type} cannot be stored in safetensors by this library.");
    }

    /// <summary>Bytes per element of a safetensors dtype name.</summary>
    public static int ElementSize(string name)
    {
        foreach (var row in Table) if (row.Name == name) return row.Size;
        throw new NotSupportedException($"Unsupported safetensors dtype '{name}'.");
    }

    /// <summary>Whether values of <paramref name="type"/> are floating point, and so convert into each other on load.</summary>
    internal static bool IsFloatingPoint(torch.ScalarType type)
        => type is torch.ScalarType.Float64 or torch.ScalarType.Float32 or torch.ScalarType.Float16 or torch.ScalarType.BFloat16;

    /// <summary>The safetensors name of <paramref name="type"/> for messages, or the TorchSharp name when it has none.</summary>
    internal static string DisplayName(torch.ScalarType type)
    {
        foreach (var row in Table) if (row.Type == type) return row.Name;
        return type.ToString();
    }
}
