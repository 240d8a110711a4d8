using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Core;

/// <summary>
/// Chooses the TorchSharp device a model runs on. An explicit choice (<c>"cpu"</c>, <c>"cuda"</c>,
/// <c>"cuda:1"</c>) wins; otherwise ML.NET's <see cref="MLContext.GpuDeviceId"/> selects a GPU, and with
/// neither, CUDA is used when available and the CPU otherwise. A requested GPU that is not available is an
/// error unless <see cref="MLContext.FallbackToCpu"/> is set.
/// </summary>
public static class TorchDevices
{
    /// <summary>Resolves the device for a model.</summary>
    /// <param name="requested">Null, empty or <c>"auto"</c> to decide automatically; else a device string.</param>
    /// <param name="context">The ML.NET context whose GPU settings apply; may be null.</param>
    public static Device Resolve(string? requested = null, MLContext? context = null) => new(ResolveName(requested, context));

    /// <summary>The device string (<c>"cpu"</c>, <c>"cuda"</c>, <c>"cuda:N"</c>) that <see cref="Resolve"/> would use.</summary>
    /// <param name="requested">Null, empty or <c>"auto"</c> to decide automatically; else a device string.</param>
    /// <param name="context">The ML.NET context whose GPU settings apply; may be null.</param>
    /// <param name="cudaAvailable">Overrides CUDA detection (for tests); null asks TorchSharp.</param>
    public static string ResolveName(string? requested = null, MLContext? context = null, bool? cudaAvailable = null)
    {
        bool cuda = cudaAvailable ?? TorchSharp.torch.cuda.is_available();
        string? wanted = string.IsNullOrWhiteSpace(requested) || requested.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? (context?.GpuDeviceId is int id ? $"cuda:{id}" : null)
            : requested.Trim().ToLowerInvariant();

        if (wanted is null) return cuda ? "cuda" : "cpu";
        if (wanted == "cpu") return "cpu";
        if (!wanted.StartsWith("cuda", StringComparison.Ordinal) || !IsCudaSpec(wanted))
            throw new ArgumentException($"Unknown device '{requested}'; use \"cpu\", \"cuda\", \"cuda:N\" or \"auto\".", nameof(requested));
        if (cuda) return wanted;
        if (context?.FallbackToCpu == true) return "cpu";
        throw new InvalidOperationException(
            $"Device '{wanted}' was requested but CUDA is not available: build the app with -p:TorchBackend=cuda on a machine with an NVIDIA GPU, " +
            "choose \"cpu\", or set MLContext.FallbackToCpu = true.");
    }

    static bool IsCudaSpec(string s) => s == "cuda" || (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out int n) && n >= 0);
}
