using Microsoft.ML.Peft.Methods.PromptLearning;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PromptTuning;

/// <summary>How prompt tuning's virtual tokens start (PEFT's <c>prompt_tuning_init</c>).</summary>
public enum PromptTuningInit
{
    /// <summary>N(0, 1), as <c>nn.Embedding</c> (<c>RANDOM</c>).</summary>
    Random,

    /// <summary>Word embeddings of token ids drawn uniformly from the vocabulary (<c>SAMPLE_VOCAB</c>).</summary>
    SampleVocab,

    /// <summary>Word embeddings of a tokenized text, repeated or truncated to n tokens (<c>TEXT</c>).</summary>
    Text,
}

/// <summary>
/// Prompt tuning (Lester et al., 2021): n trainable embeddings are put before the input's word embeddings; the model
/// is frozen. Trains n x hidden parameters (plus the head). Names follow PEFT's <c>PromptTuningConfig</c>.
/// </summary>
public sealed class PromptTuningOptions : PromptLearningOptions, IPeftMethodOptions
{
    /// <summary>How the virtual tokens start (<c>prompt_tuning_init</c>). Default <see cref="PromptTuningInit.Random"/>.</summary>
    public PromptTuningInit Init { get; set; } = PromptTuningInit.Random;

    /// <summary>The text whose tokens initialise the prompt (<c>prompt_tuning_init_text</c>), for <see cref="PromptTuningInit.Text"/>.</summary>
    public string? InitText { get; set; }

    /// <summary>
    /// Turns <see cref="InitText"/> into token ids, for <see cref="PromptTuningInit.Text"/>; PEFT uses the model's
    /// tokenizer with its special tokens, e.g. <c>text =&gt; tokenizer.EncodeToIds(text)</c>.
    /// </summary>
    public Func<string, IReadOnlyList<int>>? Tokenize { get; set; }

    /// <summary>Written to <c>tokenizer_name_or_path</c>.</summary>
    public string? TokenizerNameOrPath { get; set; }

    /// <inheritdoc/>
    public string PeftType => "PROMPT_TUNING";

    /// <inheritdoc/>
    public IPeftModel Apply(nn.Module model) => PromptTuningModel.Create(model, this);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">Text init without a text or a tokenizer.</exception>
    public override void Validate()
    {
        base.Validate();
        if (Init == PromptTuningInit.Text && (string.IsNullOrEmpty(InitText) || Tokenize is null))
            throw new ArgumentException("prompt_tuning_init TEXT needs InitText and a Tokenize function.", nameof(InitText));
    }

    /// <summary>A copy, so the model's options cannot change under it.</summary>
    public PromptTuningOptions Clone() => (PromptTuningOptions)MemberwiseClone();
}
