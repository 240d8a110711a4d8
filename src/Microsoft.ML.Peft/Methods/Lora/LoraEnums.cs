namespace Microsoft.ML.Peft.Methods.Lora;

/// <summary>Which biases train alongside LoRA (PEFT's <c>bias</c>: <c>none</c>, <c>all</c>, <c>lora_only</c>).</summary>
public enum LoraBias
{
    /// <summary>No bias trains (<c>none</c>).</summary>
    None,

    /// <summary>Every bias of the model trains and is saved with the adapter (<c>all</c>).</summary>
    All,

    /// <summary>Only the biases of the adapted linear layers train (<c>lora_only</c>).</summary>
    LoraOnly,
}

/// <summary>How the low-rank factors start (PEFT's <c>init_lora_weights</c>). B is zero in both, so the adapted model equals the base.</summary>
public enum LoraInit
{
    /// <summary>A Kaiming-uniform with a = sqrt(5) (as <c>nn.Linear</c>), B zero (<c>true</c>).</summary>
    Default,

    /// <summary>A ~ N(0, 1/r) elementwise (std 1/r), B zero (<c>"gaussian"</c>).</summary>
    Gaussian,
}
