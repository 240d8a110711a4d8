using Microsoft.ML.Peft.Methods.PromptLearning;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PrefixTuning;

/// <summary>
/// Prefix tuning (Li and Liang, 2021) / P-Tuning v2 (Liu et al., 2022): every attention layer gets P trainable key and
/// value vectors in front of its own, which every real token may attend to; the real tokens' positions and the output
/// shape are unchanged. Without projection it trains P x layers x 2 x hidden parameters. Names follow PEFT's
/// <c>PrefixTuningConfig</c> (<see cref="PromptLearningOptions.NumVirtualTokens"/> is P).
/// </summary>
public sealed class PrefixTuningOptions : PromptLearningOptions, IPeftMethodOptions
{
    /// <summary>
    /// Reparameterise the prefix through an MLP (<c>prefix_projection</c>): a (P, hidden) table, then hidden to
    /// <see cref="EncoderHiddenSize"/>, tanh, to layers x 2 x hidden. Default false.
    /// </summary>
    public bool PrefixProjection { get; set; }

    /// <summary>Hidden width of the projection (<c>encoder_hidden_size</c>); null for the model's hidden size.</summary>
    public int? EncoderHiddenSize { get; set; }

    /// <inheritdoc/>
    public string PeftType => "PREFIX_TUNING";

    /// <inheritdoc/>
    public IPeftModel Apply(nn.Module model) => PrefixTuningModel.Create(model, this);

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (EncoderHiddenSize is <= 0) throw new ArgumentOutOfRangeException(nameof(EncoderHiddenSize), EncoderHiddenSize, "encoder_hidden_size must be positive.");
    }

    /// <summary>A copy, so the model's options cannot change under it.</summary>
    public PrefixTuningOptions Clone() => (PrefixTuningOptions)MemberwiseClone();
}
