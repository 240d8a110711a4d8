namespace Microsoft.ML.Peft.Methods.PromptLearning;

/// <summary>
/// Options shared by the prompt-learning methods (PEFT's <c>PromptLearningConfig</c>): prompt tuning, P-Tuning and
/// prefix tuning. The architecture fields (<c>token_dim</c>, <c>num_layers</c>, <c>num_attention_heads</c>) are taken
/// from the model and written to the file.
/// </summary>
public abstract class PromptLearningOptions
{
    /// <summary>Number of virtual tokens (<c>num_virtual_tokens</c>): prompt length, or prefix length P. Default 20.</summary>
    public int NumVirtualTokens { get; set; } = 20;

    /// <summary>Modules trained whole and saved with the prompt (<c>modules_to_save</c>); null means the task's head (<c>classifier</c>).</summary>
    public IReadOnlyList<string>? ModulesToSave { get; set; }

    /// <summary>Written to <c>base_model_name_or_path</c>.</summary>
    public string? BaseModelNameOrPath { get; set; }

    /// <summary>Written to <c>inference_mode</c>; when true nothing is made trainable.</summary>
    public bool InferenceMode { get; set; }

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="NumVirtualTokens"/> is not positive.</exception>
    public virtual void Validate()
    {
        if (NumVirtualTokens <= 0)
            throw new ArgumentOutOfRangeException(nameof(NumVirtualTokens), NumVirtualTokens, "num_virtual_tokens (the prompt or prefix length) must be positive.");
    }
}
