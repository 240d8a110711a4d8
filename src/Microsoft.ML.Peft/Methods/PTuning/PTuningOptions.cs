using Microsoft.ML.Peft.Methods.PromptLearning;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PTuning;

/// <summary>P-Tuning's prompt encoder (PEFT's <c>encoder_reparameterization_type</c>).</summary>
public enum PromptEncoderType
{
    /// <summary>Three linear layers with ReLU between them (<c>MLP</c>).</summary>
    Mlp,

    /// <summary>A bidirectional LSTM followed by two linear layers (<c>LSTM</c>).</summary>
    Lstm,
}

/// <summary>
/// P-Tuning (Liu et al., 2021, "GPT Understands, Too"): the n virtual token embeddings are the output of a small
/// trainable prompt encoder (MLP or LSTM) over a trainable (n, hidden) input table; they go before the input as in
/// prompt tuning. Names follow PEFT's <c>PromptEncoderConfig</c>.
/// </summary>
public sealed class PTuningOptions : PromptLearningOptions, IPeftMethodOptions
{
    /// <summary>The encoder (<c>encoder_reparameterization_type</c>). Default <see cref="PromptEncoderType.Mlp"/>.</summary>
    public PromptEncoderType EncoderType { get; set; } = PromptEncoderType.Mlp;

    /// <summary>Hidden width of the encoder (<c>encoder_hidden_size</c>); null for the model's hidden size.</summary>
    public int? EncoderHiddenSize { get; set; }

    /// <summary>LSTM layers (<c>encoder_num_layers</c>). Default 2.</summary>
    public int EncoderNumLayers { get; set; } = 2;

    /// <summary>Dropout between LSTM layers (<c>encoder_dropout</c>). Default 0.</summary>
    public double EncoderDropout { get; set; }

    /// <inheritdoc/>
    public string PeftType => "P_TUNING";

    /// <inheritdoc/>
    public IPeftModel Apply(nn.Module model) => PTuningModel.Create(model, this);

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (EncoderHiddenSize is <= 0) throw new ArgumentOutOfRangeException(nameof(EncoderHiddenSize), EncoderHiddenSize, "encoder_hidden_size must be positive.");
        if (EncoderNumLayers <= 0) throw new ArgumentOutOfRangeException(nameof(EncoderNumLayers), EncoderNumLayers, "encoder_num_layers must be positive.");
        if (!(EncoderDropout >= 0 && EncoderDropout < 1)) throw new ArgumentOutOfRangeException(nameof(EncoderDropout), EncoderDropout, "encoder_dropout must be in [0, 1).");
    }

    /// <summary>A copy, so the model's options cannot change under it.</summary>
    public PTuningOptions Clone() => (PTuningOptions)MemberwiseClone();
}
