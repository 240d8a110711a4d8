using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Methods.PromptLearning;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PTuning;

/// <summary>
/// A model with P-Tuning applied: the <see cref="PromptEncoder"/>'s (n, hidden) output is put before [CLS] as in
/// prompt tuning. The file holds that output as <c>prompt_embeddings</c> (PEFT saves the encoder's output, not the
/// encoder), so a loaded adapter is a plain table and needs no encoder.
/// </summary>
public sealed class PTuningModel : PromptLearningModel
{
    PTuningModel(nn.Module model, PTuningOptions options, PromptModule prompt)
        : base(model, options, prompt, isPrefix: false) => Options = options;

    /// <summary>The options the prompt was made with.</summary>
    public PTuningOptions Options { get; }

    /// <inheritdoc/>
    public override string PeftType => "P_TUNING";

    /// <summary>Applies P-Tuning to <paramref name="model"/> (in place) and freezes the rest.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (num_virtual_tokens not positive, ...).</exception>
    public static PTuningModel Create(nn.Module model, PTuningOptions options)
    {
        options = options.Clone();
        options.Validate();
        var words = PromptTarget.Of(model).Words.weight!;
        return new PTuningModel(model, options, new PromptEncoder(options, words.shape[1], words.device, words.dtype));
    }

    /// <summary>
    /// Loads a P-Tuning prompt saved by us or by Python PEFT: the saved encoder output becomes a (n, hidden) table,
    /// trainable only if <paramref name="isTrainable"/> (PEFT's inference-mode encoder).
    /// </summary>
    /// <exception cref="InvalidDataException">The config or the weights do not fit the model (the field or key is named).</exception>
    public static PTuningModel Load(nn.Module model, string folder, bool isTrainable = false)
    {
        var json = AdapterConfigFile.Read(folder, "P_TUNING");
        CheckConfig(json, model);
        var options = new PTuningOptions
        {
            EncoderType = (json["encoder_reparameterization_type"]?.GetValue<string>() ?? "MLP") switch
            {
                "MLP" => PromptEncoderType.Mlp, "LSTM" => PromptEncoderType.Lstm,
                var other => throw new InvalidDataException($"{AdapterConfigFile.FileName}: encoder_reparameterization_type '{other}' is not MLP or LSTM."),
            },
            EncoderHiddenSize = json["encoder_hidden_size"]?.GetValue<int>(),
            EncoderNumLayers = json["encoder_num_layers"]?.GetValue<int>() ?? 2,
            EncoderDropout = json["encoder_dropout"]?.GetValue<double>() ?? 0,
        };
        ReadCommon(json, options, isTrainable);
        options.Validate();
        var words = PromptTarget.Of(model).Words.weight!;
        var loaded = new PTuningModel(model, options, new PromptEmbedding(options.NumVirtualTokens, words.shape[1], words.device, words.dtype));
        loaded.LoadWeights(folder);
        return loaded;
    }

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, JsonNode?>> MethodConfig()
    {
        yield return new("encoder_reparameterization_type", Options.EncoderType == PromptEncoderType.Lstm ? "LSTM" : "MLP");
        yield return new("encoder_hidden_size", Options.EncoderHiddenSize ?? Target.HiddenSize);
        yield return new("encoder_num_layers", Options.EncoderNumLayers);
        yield return new("encoder_dropout", Options.EncoderDropout);
    }
}
