using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Methods.PromptLearning;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PrefixTuning;

/// <summary>
/// A model with prefix tuning applied. The prompt module yields (P, layers x 2 x hidden); each block receives its
/// slice as keys and values (B, heads, P, head_dim) in front of its own, and the attention mask is opened for them.
/// The file holds that (P, layers x 2 x hidden) tensor as <c>prompt_embeddings</c>, projected when
/// <c>prefix_projection</c> is on (as PEFT saves it), so a loaded prefix is a plain table.
/// </summary>
public sealed class PrefixTuningModel : PromptLearningModel
{
    PrefixTuningModel(nn.Module model, PrefixTuningOptions options, PromptModule prompt)
        : base(model, options, prompt, isPrefix: true) => Options = options;

    /// <summary>The options the prefix was made with.</summary>
    public PrefixTuningOptions Options { get; }

    /// <inheritdoc/>
    public override string PeftType => "PREFIX_TUNING";

    /// <summary>Applies prefix tuning to <paramref name="model"/> (in place) and freezes the rest.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The prefix length (num_virtual_tokens) is not positive.</exception>
    public static PrefixTuningModel Create(nn.Module model, PrefixTuningOptions options)
    {
        options = options.Clone();
        options.Validate();
        var target = PromptTarget.Of(model);
        var words = target.Words.weight!;
        // PEFT's prefix width per layer is token_dim: the hidden size, or kv_heads × head_dim under grouped-query attention.
        long width = (long)target.NumLayers * 2 * target.PrefixTokenDim;
        PromptModule prompt = options.PrefixProjection
            ? new PrefixEncoder(options.NumVirtualTokens, target.PrefixTokenDim, target.NumLayers,
                                options.EncoderHiddenSize ?? target.HiddenSize, words.device, words.dtype)
            : new PromptEmbedding(options.NumVirtualTokens, width, words.device, words.dtype);
        return new PrefixTuningModel(model, options, prompt);
    }

    /// <summary>Loads a prefix saved by us or by Python PEFT; it trains only if <paramref name="isTrainable"/> (as a plain table).</summary>
    /// <exception cref="InvalidDataException">The config or the weights do not fit the model (the field or key is named).</exception>
    public static PrefixTuningModel Load(nn.Module model, string folder, bool isTrainable = false)
    {
        var json = AdapterConfigFile.Read(folder, "PREFIX_TUNING");
        CheckConfig(json, model, isPrefix: true);
        var options = new PrefixTuningOptions
        {
            PrefixProjection = json["prefix_projection"]?.GetValue<bool>() ?? false,
            EncoderHiddenSize = json["encoder_hidden_size"]?.GetValue<int>(),
        };
        ReadCommon(json, options, isTrainable);
        options.Validate();
        var target = PromptTarget.Of(model);
        var words = target.Words.weight!;
        var table = new PromptEmbedding(options.NumVirtualTokens, (long)target.NumLayers * 2 * target.PrefixTokenDim, words.device, words.dtype);
        var loaded = new PrefixTuningModel(model, options, table);
        loaded.LoadWeights(folder);
        return loaded;
    }

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, JsonNode?>> MethodConfig()
    {
        yield return new("prefix_projection", Options.PrefixProjection);
        yield return new("encoder_hidden_size", Options.EncoderHiddenSize ?? Target.HiddenSize);
    }
}
