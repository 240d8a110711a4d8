using Microsoft.ML.Peft.Methods.PromptLearning;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PTuning;

/// <summary>
/// P-Tuning's prompt encoder: a trainable input table <c>embedding</c> (n, hidden) passed through
/// <c>mlp_head</c> (MLP: hidden to h, ReLU, h to h, ReLU, h to hidden), or through <c>lstm_head</c> (bidirectional, h per
/// direction) and then <c>mlp_head</c> (2h to 2h, ReLU, 2h to hidden). Output (n, hidden). Names as PEFT's <c>PromptEncoder</c>.
/// </summary>
public sealed class PromptEncoder : PromptModule
{
    readonly Embedding embedding;
    readonly LSTM? lstm_head;
    readonly Sequential mlp_head;

    /// <summary>Creates the encoder for <paramref name="options"/> and a model of width <paramref name="hidden"/>.</summary>
    public PromptEncoder(PTuningOptions options, long hidden, Device? device = null, ScalarType? dtype = null) : base("PromptEncoder")
    {
        long h = options.EncoderHiddenSize ?? hidden;
        embedding = nn.Embedding(options.NumVirtualTokens, hidden, device: device, dtype: dtype);
        if (options.EncoderType == PromptEncoderType.Lstm)
        {
            lstm_head = nn.LSTM(hidden, h, options.EncoderNumLayers, batchFirst: true, dropout: options.EncoderDropout,
                                bidirectional: true, device: device, dtype: dtype);
            mlp_head = nn.Sequential(nn.Linear(2 * h, 2 * h, device: device, dtype: dtype), nn.ReLU(),
                                     nn.Linear(2 * h, hidden, device: device, dtype: dtype));
        }
        else
        {
            mlp_head = nn.Sequential(nn.Linear(hidden, h, device: device, dtype: dtype), nn.ReLU(),
                                     nn.Linear(h, h, device: device, dtype: dtype), nn.ReLU(),
                                     nn.Linear(h, hidden, device: device, dtype: dtype));
        }
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor Embeddings()
    {
        var input = embedding.weight!;                        // (n, hidden)
        if (lstm_head is null) return mlp_head.call(input);    // (n, hidden)
        using var scope = NewDisposeScope();
        var (states, _, _) = lstm_head.call(input.unsqueeze(0), null);  // (1, n, 2h)
        return mlp_head.call(states.squeeze(0)).MoveToOuterDisposeScope();  // (n, hidden)
    }
}
