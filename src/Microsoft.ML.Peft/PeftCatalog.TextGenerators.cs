using Microsoft.ML.Peft.Methods.BitFit;
using Microsoft.ML.Peft.Methods.FullFineTuning;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Quantization;
using Microsoft.ML.Peft.Tasks.Generation;

namespace Microsoft.ML.Peft;

// Weight-based text generators of mlContext.Peft(): LoRA, QLoRA, IA3, BitFit, full fine-tuning. Each comes as a short
// overload (the method's main hyperparameters) and one taking the method's options; both take an optional
// TextGeneratorTrainerOptions (columns, sequence length, training, generation). When it is null, the defaults apply
// with a learning rate suited to the method. The adapter is saved with task_type CAUSAL_LM.
public sealed partial class PeftCatalog
{
    /// <summary>
    /// LoRA (Hu et al., 2021) on a decoder: low-rank updates of the attention projections (GPT-2: <c>c_attn</c>;
    /// LLaMA family: <c>q_proj, v_proj</c>) unless <paramref name="targetModules"/> says otherwise.
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="rank">LoRA rank r.</param>
    /// <param name="alpha">LoRA alpha (scaling alpha / r).</param>
    /// <param name="dropout">Dropout on the adapter input.</param>
    /// <param name="targetModules">Module names to adapt; the architecture's default when null.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it and its value.</exception>
    public PeftTextGenerationEstimator LoraTextGenerator(PretrainedDecoder decoder, int rank = 8, double alpha = 16, double dropout = 0.05,
                                                         IReadOnlyList<string>? targetModules = null, TextGeneratorTrainerOptions? options = null,
                                                         Action<string>? log = null)
    {
        var lora = new LoraOptions { Rank = rank, Alpha = alpha, Dropout = dropout, TaskType = "CAUSAL_LM" };
        if (targetModules is not null) lora.TargetModules = Core.TargetModules.Of(targetModules.ToArray());
        return LoraTextGenerator(decoder, lora, options, log);
    }

    /// <summary>LoRA with full control of the adapter (rsLoRA, DoRA, targets, layers, ...); <c>task_type</c> defaults to <c>CAUSAL_LM</c>.</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The LoRA options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator LoraTextGenerator(PretrainedDecoder decoder, LoraOptions method, TextGeneratorTrainerOptions? options = null,
                                                         Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.Validate();
        return Generator(decoder, method, options, 1e-3, log);
    }

    /// <summary>
    /// QLoRA (Dettmers et al., 2023): the decoder's linear layers quantized to 4-bit NF4 (frozen), LoRA on the targets
    /// (LLaMA family: <c>q_proj, v_proj</c>; GPT-2: <c>c_attn</c>, its <c>Conv1D</c> layers quantized transposed as bitsandbytes does).
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="rank">LoRA rank r.</param>
    /// <param name="alpha">LoRA alpha (scaling alpha / r).</param>
    /// <param name="blockSize">Weights per quantization block; it must divide every quantized layer's weight count.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator QLoraTextGenerator(PretrainedDecoder decoder, int rank = 8, double alpha = 16, int blockSize = 64,
                                                          TextGeneratorTrainerOptions? options = null, Action<string>? log = null) =>
        QLoraTextGenerator(decoder, new QLoraOptions
        {
            Lora = new LoraOptions { Rank = rank, Alpha = alpha, TaskType = "CAUSAL_LM" },
            Quantization = new QuantizationOptions { BlockSize = blockSize },
        }, options, log);

    /// <summary>QLoRA with full control of the adapter and the quantization.</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The QLoRA options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator QLoraTextGenerator(PretrainedDecoder decoder, QLoraOptions method, TextGeneratorTrainerOptions? options = null,
                                                          Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.Validate();
        return Generator(decoder, method, options, 1e-3, log);
    }

    /// <summary>
    /// IA3 (Liu et al., 2022) on a decoder: learned vectors rescale keys, values and the feed-forward activations
    /// (LLaMA family: <c>k_proj, v_proj, down_proj</c>). GPT-2's fused <c>c_attn</c> is not supported: Fit fails naming the method and model.
    /// </summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="targetModules">Layers to rescale; PEFT's default for the architecture when null.</param>
    /// <param name="feedforwardModules">Targets whose input (not output) is rescaled; PEFT's default when null.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 3e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator IA3TextGenerator(PretrainedDecoder decoder, IReadOnlyList<string>? targetModules = null,
                                                        IReadOnlyList<string>? feedforwardModules = null, TextGeneratorTrainerOptions? options = null,
                                                        Action<string>? log = null) =>
        IA3TextGenerator(decoder, new IA3Options
        {
            TargetModules = targetModules is null ? null : Core.TargetModules.Of(targetModules.ToArray()),
            FeedforwardModules = feedforwardModules,
        }, options, log);

    /// <summary>IA3 with full control of its options.</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The IA3 options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 3e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator IA3TextGenerator(PretrainedDecoder decoder, IA3Options method, TextGeneratorTrainerOptions? options = null,
                                                        Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        return Generator(decoder, method, options, 3e-3, log);
    }

    /// <summary>BitFit (Ben Zaken et al., 2022) on a decoder: only the bias terms train (LLaMA-family decoders without biases have nothing to train).</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator BitFitTextGenerator(PretrainedDecoder decoder, TextGeneratorTrainerOptions? options = null, Action<string>? log = null) =>
        BitFitTextGenerator(decoder, new BitFitOptions(), options, log);

    /// <summary>BitFit with full control of its options (modules trained whole besides the biases).</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The BitFit options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 1e-3 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator BitFitTextGenerator(PretrainedDecoder decoder, BitFitOptions method, TextGeneratorTrainerOptions? options = null,
                                                           Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        return Generator(decoder, method, options, 1e-3, log);
    }

    /// <summary>Full fine-tuning of a decoder: every weight trains (the reference the PEFT methods are measured against).</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 5e-5 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator FullFineTuningTextGenerator(PretrainedDecoder decoder, TextGeneratorTrainerOptions? options = null, Action<string>? log = null) =>
        FullFineTuningTextGenerator(decoder, new FullFineTuningOptions(), options, log);

    /// <summary>Full fine-tuning with full control of its options.</summary>
    /// <param name="decoder">The base decoder.</param>
    /// <param name="method">The full fine-tuning options.</param>
    /// <param name="options">Columns, training and generation options; defaults with learning rate 5e-5 when null.</param>
    /// <param name="log">Receives training log lines; none when null.</param>
    public PeftTextGenerationEstimator FullFineTuningTextGenerator(PretrainedDecoder decoder, FullFineTuningOptions method, TextGeneratorTrainerOptions? options = null,
                                                                   Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        return Generator(decoder, method, options, 5e-5, log);
    }
}
