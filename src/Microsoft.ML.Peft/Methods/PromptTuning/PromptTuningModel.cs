using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Methods.PromptLearning;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PromptTuning;

/// <summary>
/// A model with prompt tuning applied: n trainable virtual token embeddings (<c>prompt_encoder.default.embedding.weight</c>,
/// (n, hidden)) go before [CLS]; the attention mask gains ones and the token types zeros for them. The encoder's output
/// is (B, n + T, hidden); <see cref="Models.Bert.BertOutput.TokenStates"/> drops the virtual positions.
/// </summary>
public sealed class PromptTuningModel : PromptLearningModel
{
    PromptTuningModel(nn.Module model, PromptTuningOptions options, PromptEmbedding table)
        : base(model, options, table, isPrefix: false) => Options = options;

    /// <summary>The options the prompt was made with.</summary>
    public PromptTuningOptions Options { get; }

    /// <inheritdoc/>
    public override string PeftType => "PROMPT_TUNING";

    /// <summary>Applies prompt tuning to <paramref name="model"/> (in place) and freezes the rest.</summary>
    /// <exception cref="ArgumentOutOfRangeException">num_virtual_tokens is not positive.</exception>
    public static PromptTuningModel Create(nn.Module model, PromptTuningOptions options)
    {
        options = options.Clone();
        options.Validate();
        var words = PromptTarget.Of(model).Words.weight!;  // (vocab, hidden)
        var table = new PromptEmbedding(options.NumVirtualTokens, words.shape[1], words.device, words.dtype);
        Initialize(table, words, options);
        return new PromptTuningModel(model, options, table);
    }

    /// <summary>Loads a prompt saved by us or by Python PEFT into <paramref name="model"/>; it trains only if <paramref name="isTrainable"/>.</summary>
    /// <exception cref="InvalidDataException">The config or the weights do not fit the model (the field or key is named).</exception>
    public static PromptTuningModel Load(nn.Module model, string folder, bool isTrainable = false)
    {
        var json = AdapterConfigFile.Read(folder, "PROMPT_TUNING");
        CheckConfig(json, model);
        var options = new PromptTuningOptions
        {
            InitText = json["prompt_tuning_init_text"]?.GetValue<string>(),
            TokenizerNameOrPath = json["tokenizer_name_or_path"]?.GetValue<string>(),
        };
        ReadCommon(json, options, isTrainable);
        var loaded = Create(model, options);  // random start; the file overwrites it
        loaded.LoadWeights(folder);
        return loaded;
    }

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, JsonNode?>> MethodConfig()
    {
        yield return new("prompt_tuning_init", Options.Init switch
        {
            PromptTuningInit.SampleVocab => "SAMPLE_VOCAB", PromptTuningInit.Text => "TEXT", _ => "RANDOM",
        });
        yield return new("prompt_tuning_init_text", Options.InitText);
        yield return new("tokenizer_name_or_path", Options.TokenizerNameOrPath);
        yield return new("tokenizer_kwargs", null);
    }

    /// <summary>Fills the (n, hidden) table per <see cref="PromptTuningOptions.Init"/> from the (vocab, hidden) word embeddings.</summary>
    static void Initialize(PromptEmbedding table, Tensor words, PromptTuningOptions options)
    {
        if (options.Init == PromptTuningInit.Random) return;  // nn.Embedding's N(0, 1), as PEFT
        int n = options.NumVirtualTokens;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor ids;
        if (options.Init == PromptTuningInit.SampleVocab)
        {
            ids = randint(0, words.shape[0], new long[] { n }, dtype: ScalarType.Int64, device: words.device);
        }
        else
        {
            var textIds = options.Tokenize!(options.InitText!);
            if (textIds.Count == 0) throw new ArgumentException("The prompt init text has no tokens.", nameof(options));
            // Repeat the text's tokens until there are n, then cut at n (PEFT's TEXT init).
            var repeated = Enumerable.Range(0, n).Select(i => (long)textIds[i % textIds.Count]).ToArray();
            ids = tensor(repeated, dtype: ScalarType.Int64, device: words.device);
        }
        table.Weight.copy_(words.index_select(0, ids));  // (n, hidden)
    }
}
