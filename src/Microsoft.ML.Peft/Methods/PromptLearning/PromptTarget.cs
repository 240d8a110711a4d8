using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Models.Llama;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PromptLearning;

/// <summary>
/// The model a prompt-learning method feeds, whatever its family: a BERT-family encoder (its <see cref="BertModel.Prompt"/>)
/// or a GPT-2 / LLaMA-family decoder (its <c>Prompt</c>, an <see cref="IDecoderPrompt"/>), with the geometry the prompt
/// needs. Prefix keys and values take the attention's key/value heads: all heads for BERT and GPT-2, the
/// <c>num_key_value_heads</c> of grouped-query attention for LLaMA (PEFT then saves <c>token_dim</c> = kv_heads × head_dim
/// and <c>num_attention_heads</c> = kv_heads for prefix tuning).
/// </summary>
internal sealed class PromptTarget
{
    readonly Func<bool> hasPrompt;
    readonly Action<PromptLearningModel?> setPrompt;

    PromptTarget(Embedding words, int hidden, int layers, int heads, int prefixHeads, int prefixHeadDim,
                 Func<bool> hasPrompt, Action<PromptLearningModel?> setPrompt, BertModel? encoder = null)
    {
        Words = words;
        HiddenSize = hidden;
        NumLayers = layers;
        NumAttentionHeads = heads;
        PrefixHeads = prefixHeads;
        PrefixHeadDim = prefixHeadDim;
        this.hasPrompt = hasPrompt;
        this.setPrompt = setPrompt;
        Encoder = encoder;
    }

    /// <summary>The token embedding table (vocab, hidden): prompt initialisation, device and dtype.</summary>
    public Embedding Words { get; }

    /// <summary>Width of token embeddings (prompt tuning's <c>token_dim</c>).</summary>
    public int HiddenSize { get; }

    /// <summary>Number of transformer layers (<c>num_layers</c>).</summary>
    public int NumLayers { get; }

    /// <summary>Number of query heads.</summary>
    public int NumAttentionHeads { get; }

    /// <summary>Heads of a layer's prefix keys and values: key/value heads.</summary>
    public int PrefixHeads { get; }

    /// <summary>Width of one prefix head.</summary>
    public int PrefixHeadDim { get; }

    /// <summary>Width of one layer's prefix keys (prefix tuning's <c>token_dim</c>): heads × head_dim.</summary>
    public int PrefixTokenDim => PrefixHeads * PrefixHeadDim;

    /// <summary>The BERT-family encoder, or null for a decoder.</summary>
    public BertModel? Encoder { get; }

    /// <summary>Whether the model already has a prompt method.</summary>
    public bool HasPrompt => hasPrompt();

    /// <summary>Sets (or clears, with null) the prompt the model's forward consults.</summary>
    public void SetPrompt(PromptLearningModel? prompt) => setPrompt(prompt);

    /// <summary>The target inside <paramref name="model"/>.</summary>
    /// <exception cref="NotSupportedException">The model is neither BERT-family nor a GPT-2 / LLaMA-family decoder.</exception>
    public static PromptTarget Of(nn.Module model) => model switch
    {
        BertModel bert => Bert(bert),
        ISequenceClassifier classifier => Bert(classifier.Encoder),
        Gpt2LMHeadModel lm => Gpt2(lm.Transformer),
        Gpt2Model gpt2 => Gpt2(gpt2),
        LlamaForCausalLM lm => Llama(lm.Model),
        LlamaModel llama => Llama(llama),
        _ => throw new NotSupportedException(
            $"Prompt methods need a BERT-family model (BertModel or a sequence classifier) or a GPT-2 / LLaMA-family decoder, not {model.GetType().Name}."),
    };

    static PromptTarget Bert(BertModel bert)
    {
        var c = bert.Config;
        return new(bert.Embeddings.WordEmbeddings, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumAttentionHeads, c.HeadDim,
                   () => bert.Prompt is not null, p => bert.Prompt = p, bert);
    }

    static PromptTarget Gpt2(Gpt2Model gpt2)
    {
        var c = gpt2.Config;
        return new(gpt2.TokenEmbedding, c.NEmbd, c.NLayer, c.NHead, c.NHead, c.HeadDim, () => gpt2.Prompt is not null, p => gpt2.Prompt = p);
    }

    static PromptTarget Llama(LlamaModel llama)
    {
        var c = llama.Config;
        return new(llama.EmbedTokens, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.KeyValueHeads, c.HeadDim,
                   () => llama.Prompt is not null, p => llama.Prompt = p);
    }
}
