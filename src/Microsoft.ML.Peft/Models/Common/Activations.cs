using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>Hugging Face activation names (<c>hidden_act</c>) mapped to TorchSharp functions.</summary>
public static class Activations
{
    static readonly string[] Supported = { "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh" };

    /// <summary>Throws when <paramref name="name"/> is not a supported activation, listing the supported ones.</summary>
    public static void Validate(string name)
    {
        if (!Supported.Contains(name))
            throw new NotSupportedException($"config.json: hidden_act '{name}' is not supported; use one of {string.Join(", ", Supported)}.");
    }

    /// <summary>Applies the activation called <paramref name="name"/>.</summary>
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "gelu" => nn.functional.gelu(x),                                              // exact, erf-based
        "gelu_new" or "gelu_pytorch_tanh" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => nn.functional.relu(x),
        "silu" or "swish" => nn.functional.silu(x),
        "tanh" => x.tanh(),
        _ => throw new NotSupportedException($"Activation '{name}' is not supported."),
    };
}
