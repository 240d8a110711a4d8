namespace Microsoft.ML.Peft.Tokenization;

/// <summary>How a byte-level BPE model frames its inputs with special tokens.</summary>
public enum BpeFraming
{
    /// <summary>No special tokens around the text (GPT-2, GPT-Neo, GPT-J, CodeGen).</summary>
    None,

    /// <summary>RoBERTa style: <c>&lt;s&gt; a &lt;/s&gt;</c> and <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c> (RoBERTa, BART, Longformer).</summary>
    Roberta,
}

/// <summary>Options of <see cref="ByteLevelBpeTokenizer"/>. Null token strings take the framing's defaults.</summary>
public sealed class ByteLevelBpeOptions
{
    /// <summary>Where special tokens go.</summary>
    public BpeFraming Framing { get; set; } = BpeFraming.None;

    /// <summary>Add a space before a text that does not start with one, so its first word is encoded like any other word.</summary>
    public bool AddPrefixSpace { get; set; }

    /// <summary>Beginning-of-sequence token; default <c>&lt;s&gt;</c> (RoBERTa) or <c>&lt;|endoftext|&gt;</c> (GPT-2).</summary>
    public string? BosToken { get; set; }

    /// <summary>End-of-sequence token; default <c>&lt;/s&gt;</c> (RoBERTa) or <c>&lt;|endoftext|&gt;</c> (GPT-2).</summary>
    public string? EosToken { get; set; }

    /// <summary>Padding token; default <c>&lt;pad&gt;</c> (RoBERTa). GPT-2 has none and pads with its end-of-sequence token.</summary>
    public string? PadToken { get; set; }

    /// <summary>Unknown token; default <c>&lt;unk&gt;</c> (RoBERTa) or <c>&lt;|endoftext|&gt;</c> (GPT-2). Byte-level BPE never needs it to encode.</summary>
    public string? UnkToken { get; set; }

    /// <summary>Mask token; default <c>&lt;mask&gt;</c> (RoBERTa), none for GPT-2.</summary>
    public string? MaskToken { get; set; }

    /// <summary>Defaults of <c>roberta-base</c>.</summary>
    /// <returns>New options.</returns>
    public static ByteLevelBpeOptions Roberta() => new() { Framing = BpeFraming.Roberta };

    /// <summary>Defaults of <c>gpt2</c>.</summary>
    /// <returns>New options.</returns>
    public static ByteLevelBpeOptions Gpt2() => new() { Framing = BpeFraming.None };

    /// <summary>Overrides these options with what a model folder's Hugging Face settings say.</summary>
    /// <param name="config">The settings read from the folder.</param>
    /// <returns>This instance, for chaining.</returns>
    public ByteLevelBpeOptions With(TokenizerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        AddPrefixSpace = config.AddPrefixSpace ?? AddPrefixSpace;

        // RoBERTa lists <s> and </s> both as bos/eos and as cls/sep; prefer the cls/sep names when given.
        BosToken = config.ClsToken ?? config.BosToken ?? BosToken;
        EosToken = config.SepToken ?? config.EosToken ?? EosToken;
        PadToken = config.PadToken ?? PadToken;
        UnkToken = config.UnkToken ?? UnkToken;
        MaskToken = config.MaskToken ?? MaskToken;
        return this;
    }
}
