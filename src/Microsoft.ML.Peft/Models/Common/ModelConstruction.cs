using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models.Common;

/// <summary>
/// Where the built-in models create their <c>Linear</c> layers while being constructed on this thread: null (the
/// default) is TorchSharp's default device. The 4-bit loader sets the meta device so that the full-precision linear
/// weights it is about to replace by <c>Linear4bit</c> layers are never allocated (nor initialised).
/// </summary>
internal static class ModelConstruction
{
    [ThreadStatic] static Device? linearDevice;

    /// <summary>The device for Linear layers constructed now; null for the default.</summary>
    public static Device? LinearDevice => linearDevice;

    /// <summary>Constructs the Linear layers of models built by <paramref name="create"/> on <paramref name="device"/>.</summary>
    public static T WithLinearsOn<T>(Device device, Func<T> create)
    {
        var previous = linearDevice;
        linearDevice = device;
        try { return create(); }
        finally { linearDevice = previous; }
    }
}
