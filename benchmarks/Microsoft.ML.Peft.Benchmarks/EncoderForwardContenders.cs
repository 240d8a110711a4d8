using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tokenization;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>One way of running the encoder on the benchmark batch.</summary>
abstract class EncoderContender : IDisposable
{
    public abstract string Name { get; }

    /// <summary>One forward pass whose result is dropped: what the rounds time.</summary>
    public abstract void Forward();

    /// <summary>One forward pass; returns last_hidden_state as fp32 (B, T, H) for the accuracy checks.</summary>
    public abstract float[] Output();

    public abstract void Dispose();
}

/// <summary>ONNX Runtime on the original ONNX file, with the inputs built once.</summary>
sealed class OrtContender : EncoderContender
{
    readonly InferenceSession session;
    readonly List<NamedOnnxValue> inputs;
    static readonly string[] OutputNames = { "last_hidden_state" };

    public OrtContender(string onnxPath, SessionOptions options, TokenizedBatch batch)
    {
        session = new InferenceSession(onnxPath, options);
        var shape = new[] { batch.BatchSize, batch.SequenceLength };
        inputs = new()
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.InputIds, shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(batch.AttentionMask, shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(batch.TokenTypeIds, shape)),
        };
    }

    public override string Name => "ORT fp32";

    public override void Forward()
    {
        using var results = session.Run(inputs, OutputNames);
    }

    public override float[] Output()
    {
        using var results = session.Run(inputs, OutputNames);
        return results[0].AsEnumerable<float>().ToArray();
    }

    public override void Dispose() => session.Dispose();
}

/// <summary>Our TorchSharp BertModel, in the given parameter type, under no_grad.</summary>
sealed class TorchContender : EncoderContender
{
    readonly BertModel encoder;
    readonly TokenizedTensors tensors;
    readonly string name;

    public TorchContender(PretrainedModel pretrained, ScalarType? dtype, TokenizedBatch batch, string name)
    {
        encoder = pretrained.LoadEncoder(dtype: dtype);
        tensors = batch.ToTensors();
        this.name = name;
    }

    public override string Name => name;

    public override void Forward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        encoder.forward(tensors.InputIds, tensors.AttentionMask, tensors.TokenTypeIds);
    }

    public override float[] Output()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hidden = encoder.forward(tensors.InputIds, tensors.AttentionMask, tensors.TokenTypeIds).LastHiddenState;
        return hidden.to(ScalarType.Float32).contiguous().data<float>().ToArray();
    }

    public override void Dispose()
    {
        encoder.Dispose();
        tensors.Dispose();
    }
}
