using Microsoft.ML.Peft.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods;

/// <summary>
/// A model with a PEFT method applied: what a training loop and an estimator need, whatever the method.
/// The model is still called as before (<c>ISequenceClassifier.Logits</c>, <c>BertModel.forward</c>); the method acts
/// inside it through hooks or the encoder's prompt.
/// </summary>
public interface IPeftModel
{
    /// <summary>The <c>peft_type</c> of the method, as in <see cref="IPeftMethodOptions.PeftType"/>.</summary>
    string PeftType { get; }

    /// <summary>The adapted model (the same object that was given to <see cref="IPeftMethodOptions.Apply"/>).</summary>
    nn.Module Model { get; }

    /// <summary>The parameters to give the optimizer: the method's own, plus the modules it saves whole (the head).</summary>
    IReadOnlyList<Parameter> TrainableParameterList();

    /// <summary>Trainable and total parameter counts (the method's parameters included in both).</summary>
    TrainableParameterCount TrainableParameters();

    /// <summary>Writes <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> into <paramref name="folder"/>.</summary>
    void SaveAdapter(string folder);

    /// <summary>Within the returned scope the model computes the base model's output; the method returns after it.</summary>
    IDisposable DisableAdapters();
}
