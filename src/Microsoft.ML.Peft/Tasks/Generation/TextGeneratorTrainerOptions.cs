using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>
/// Options of <c>PeftTextGenerationEstimator</c>: which columns to learn from, how long a training sequence
/// may be, the training run, and how the fitted transformer generates.
/// </summary>
/// <remarks>
/// Two ways to train. <b>Text</b> (the default): every row of <see cref="TextColumnName"/> is a document; it is
/// split into windows of <see cref="MaxSequenceLength"/> tokens and every token is predicted. <b>Prompt +
/// completion</b>: set <see cref="PromptColumnName"/> and <see cref="CompletionColumnName"/>; the sequence is the
/// prompt followed by the completion and the end-of-text token, and only completion tokens count in the loss
/// (prompt labels are −100).
/// </remarks>
public sealed class TextGeneratorTrainerOptions
{
    /// <summary>The text column of plain language-model training. Default <c>Text</c>.</summary>
    public string TextColumnName { get; set; } = "Text";

    /// <summary>The prompt column: in prompt + completion training, and as the fitted transformer's input. Null: <see cref="TextColumnName"/> is the transformer's input.</summary>
    public string? PromptColumnName { get; set; }

    /// <summary>The completion column; when set, training is prompt + completion with the loss on the completion only.</summary>
    public string? CompletionColumnName { get; set; }

    /// <summary>The column the fitted transformer writes the generated text into. Default <c>GeneratedText</c>.</summary>
    public string OutputColumnName { get; set; } = "GeneratedText";

    /// <summary>
    /// Longest training sequence in tokens; null for the model's context length. A value above the context
    /// (<c>n_positions</c> / <c>max_position_embeddings</c>) is an error when the estimator is created.
    /// </summary>
    public int? MaxSequenceLength { get; set; }

    /// <summary>The training run (optimizer, schedule, epochs, batch size, seed). A LoRA-friendly learning rate by default.</summary>
    public TrainingOptions Training { get; set; } = new() { LearningRate = 1e-3, Epochs = 1, BatchSize = 8 };

    /// <summary>
    /// How the fitted transformer generates (greedy, 32 new tokens by default). Checked when the estimator is created:
    /// out-of-range values fail naming the option, and <see cref="GenerationOptions.MaxNewTokens"/> must leave room for a
    /// prompt in the context. Greedy decoding and beam search ignore <see cref="GenerationOptions.Temperature"/> (it must
    /// be positive only when <see cref="GenerationOptions.DoSample"/> is set), as in Hugging Face.
    /// </summary>
    public GenerationOptions Generation { get; set; } = new();

    /// <summary>Prompts generated per batch by the fitted transformer.</summary>
    public int InferenceBatchSize { get; set; } = 8;

    /// <summary>True when <see cref="CompletionColumnName"/> is set.</summary>
    public bool IsPromptCompletion => CompletionColumnName is not null;

    /// <summary>The column the fitted transformer reads prompts from.</summary>
    public string InputColumnName => PromptColumnName ?? TextColumnName;

    /// <summary>Checks the options; throws naming the option.</summary>
    /// <exception cref="ArgumentException">A column name is empty, or a completion column has no prompt column.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or a generation option is out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(TextColumnName)) throw new ArgumentException("TextColumnName must not be empty.", nameof(TextColumnName));
        if (string.IsNullOrWhiteSpace(OutputColumnName)) throw new ArgumentException("OutputColumnName must not be empty.", nameof(OutputColumnName));
        if (CompletionColumnName is not null && string.IsNullOrWhiteSpace(PromptColumnName))
            throw new ArgumentException($"CompletionColumnName '{CompletionColumnName}' needs a PromptColumnName: the loss is on the completion that follows the prompt.", nameof(PromptColumnName));
        if (MaxSequenceLength is < 2) throw new ArgumentOutOfRangeException(nameof(MaxSequenceLength), MaxSequenceLength, "MaxSequenceLength must be at least 2 tokens.");
        if (InferenceBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(InferenceBatchSize), InferenceBatchSize, "InferenceBatchSize must be positive.");
        ArgumentNullException.ThrowIfNull(Training, nameof(Training));
        ArgumentNullException.ThrowIfNull(Generation, nameof(Generation));
        Training.Validate();
        Generation.Validate();
    }

    /// <summary>Checks the options that depend on the decoder's context length; throws naming the option, its value and the context.</summary>
    /// <param name="contextLength">The decoder's <c>n_positions</c> / <c>max_position_embeddings</c>.</param>
    /// <param name="modelDirectory">The decoder's folder, for the message.</param>
    /// <exception cref="ArgumentOutOfRangeException">A sequence or generation length does not fit the context.</exception>
    internal void ValidateFor(int contextLength, string modelDirectory)
    {
        if (MaxSequenceLength > contextLength)
            throw new ArgumentOutOfRangeException(nameof(MaxSequenceLength), MaxSequenceLength,
                $"MaxSequenceLength {MaxSequenceLength} exceeds the context of the decoder in {modelDirectory} ({contextLength} positions); use at most {contextLength}, or null for the whole context.");
        if (Generation.MaxNewTokens >= contextLength)
            throw new ArgumentOutOfRangeException(nameof(Generation.MaxNewTokens), Generation.MaxNewTokens,
                $"GenerationOptions.MaxNewTokens {Generation.MaxNewTokens} leaves no room for a prompt in the context of the decoder in {modelDirectory} ({contextLength} positions); use at most {contextLength - 1}.");
    }
}
