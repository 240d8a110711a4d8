using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Quantization;
using Microsoft.ML.Peft.Tasks.TextClassification;

namespace Microsoft.ML.Peft;

public sealed partial class PeftCatalog
{
    /// <summary>
    /// QLoRA (Dettmers et al., 2023): LoRA over a frozen base whose linear layers are quantized to 4-bit NormalFloat
    /// (blockwise absmax, double quantization), which cuts the frozen weights' memory to about 13% of fp32.
    /// The adapter and the head train in full precision; the 4-bit base is dequantized per layer into bf16 to multiply.
    /// </summary>
    /// <param name="model">The pretrained model to fine-tune.</param>
    /// <param name="labelColumnName">The key-typed label column (use <c>MapValueToKey</c>).</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="rank">Rank r of each update.</param>
    /// <param name="alpha">Scale numerator: the update is multiplied by alpha / r.</param>
    /// <param name="dropout">Dropout on the adapters' input while training.</param>
    /// <param name="blockSize">Weights per quantization block; it must divide every quantized layer's weight count.</param>
    /// <param name="doubleQuant">Whether the per-block scales are themselves quantized to 8 bits.</param>
    /// <param name="maxEpochs">Passes over the training data.</param>
    /// <param name="learningRate">Peak learning rate (AdamW).</param>
    /// <param name="batchSize">Examples per optimizer step.</param>
    public PeftTextClassificationEstimator QLoraTextClassifier(PretrainedModel model, string labelColumnName = "Label", string textColumnName = "Text",
        int rank = 8, double alpha = 16, double dropout = 0.1, int blockSize = 64, bool doubleQuant = true,
        int maxEpochs = 3, double learningRate = 1e-3, int batchSize = 16) =>
        Short(model, new QLoraOptions
        {
            Lora = new LoraOptions { Rank = rank, Alpha = alpha, Dropout = dropout },
            Quantization = new QuantizationOptions { BlockSize = blockSize, DoubleQuant = doubleQuant },
        }, labelColumnName, textColumnName, maxEpochs, learningRate, batchSize);

    /// <summary>QLoRA with full control; <see cref="TextClassifierOptions.Method"/> must be null (a default <see cref="QLoraOptions"/>) or a <see cref="QLoraOptions"/>.</summary>
    public PeftTextClassificationEstimator QLoraTextClassifier(PretrainedModel model, TextClassifierOptions options) =>
        WithMethod<QLoraOptions>(model, options);
}
