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

/// <summary>
/// How the low-rank factors start (PEFT's <c>init_lora_weights</c>). The adapted model equals the base at init in
/// every case: B is zero for <see cref="Default"/> and <see cref="Gaussian"/>; <see cref="Pissa"/> moves the principal
/// part of W into the factors and leaves the residual in W.
/// </summary>
public enum LoraInit
{
    /// <summary>A Kaiming-uniform with a = sqrt(5) (as <c>nn.Linear</c>), B zero (<c>true</c>).</summary>
    Default,

    /// <summary>A ~ N(0, 1/r) elementwise (std 1/r), B zero (<c>"gaussian"</c>).</summary>
    Gaussian,

    /// <summary>
    /// PiSSA (Meng et al., 2024; PEFT's <c>"pissa"</c>): from the SVD W = U S Vᵀ, A = sqrt(S_r / scaling) V_rᵀ and
    /// B = U_r sqrt(S_r / scaling), so <c>scaling * B A</c> is the rank-r principal part of W, and W is replaced by the
    /// residual <c>W - scaling * B A</c>. <b>The base weight changes</b> (as in PEFT): the adapter only reproduces the
    /// original model together with that residual base, and unloading without merging leaves the residual. Needs a
    /// full-precision base (not 4-bit).
    /// </summary>
    Pissa,
}

/// <summary>How <see cref="LoraModel.AddWeightedAdapter"/> combines adapters (PEFT's <c>combination_type</c>).</summary>
public enum CombinationType
{
    /// <summary>
    /// <c>linear</c>: the adapters must share their rank r; A = Σ sign(wᵢ)·sqrt(|wᵢ|·sᵢ)·Aᵢ and B = Σ sqrt(|wᵢ|·sᵢ)·Bᵢ
    /// with scaling 1 (sᵢ the adapters' scalings). The delta B·A equals Σ wᵢ sᵢ Bᵢ Aᵢ only up to the cross terms
    /// Bᵢ Aⱼ (i ≠ j), as in PEFT; it is exact for a single adapter.
    /// </summary>
    Linear,

    /// <summary>
    /// <c>cat</c>: A stacks the rows wᵢ·sᵢ·Aᵢ and B the columns Bᵢ, rank Σ rᵢ, scaling 1, so the delta is exactly
    /// Σ wᵢ·sᵢ·Bᵢ Aᵢ.
    /// </summary>
    Cat,
}
