using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Models.Bert;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Parity of our encoder classifiers with Hugging Face transformers and PEFT, on fixtures written by
/// <c>make_encoder_reference.py</c>: tiny random BERT and RoBERTa sequence classifiers must load strictly with
/// <see cref="PretrainedModel"/> and give transformers' last hidden state and logits, and a LoRA adapter PEFT saved for
/// sequence classification (the head as a module to save) must give the PeftModel's logits, all within 1e-4.
/// </summary>
public sealed class EncoderParityTests(ITestOutputHelper output)
{
    const string NotGeneratedReason =
        "Hugging Face encoder fixtures not generated yet: run make_encoder_reference.py on a machine with transformers and peft " +
        "(see tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/README.md).";

    public static TheoryData<string> Encoders => new("bert", "roberta");

    [SkippableTheory]
    [MemberData(nameof(Encoders))]
    public void Hidden_states_and_logits_match_transformers(string name)
    {
        string folder = Path.Combine(HfReferenceFixture.Root, name);
        string tensorsPath = Path.Combine(folder, HfReferenceFixture.TensorsFile);
        Skip.IfNot(File.Exists(tensorsPath), NotGeneratedReason);
        using var scope = NewDisposeScope();
        using var reference = SafeTensorsFile.Open(tensorsPath);
        Tensor ids = reference.ReadTensor("input_ids"), mask = reference.ReadTensor("attention_mask"), types = reference.ReadTensor("token_type_ids");

        var model = PretrainedModel.FromDirectory(Path.Combine(folder, HfReferenceFixture.ModelFolderName));
        Assert.Equal(name, model.ModelType);
        using var classifier = model.LoadSequenceClassifier(numLabels: 3);   // strict: the saved head has 3 labels
        var sequenceClassifier = (ISequenceClassifier)classifier;
        using var noGrad = no_grad();
        var hidden = sequenceClassifier.Encoder.forward(ids, mask, types).LastHiddenState;   // (B, T, H)
        double hiddenDifference = MaxOverRealTokens(hidden, reference.ReadTensor("hidden"), mask);
        double logitsDifference = (sequenceClassifier.Logits(ids, mask, types) - reference.ReadTensor("logits")).abs().max().item<float>();

        output.WriteLine($"{name}: max |hidden diff| {hiddenDifference:G3} over real tokens, max |logits diff| {logitsDifference:G3}");
        Assert.True(hiddenDifference < 1e-4, $"{name}: last hidden state differs from transformers' by {hiddenDifference:G3}.");
        Assert.True(logitsDifference < 1e-4, $"{name}: logits differ from transformers' by {logitsDifference:G3}.");
    }

    [SkippableTheory]
    [MemberData(nameof(Encoders))]
    public void Lora_adapter_saved_by_peft_for_sequence_classification_gives_peft_logits(string name)
    {
        string folder = Path.Combine(PeftInterchangeFixture.Root(PeftInterchangeFixture.FromPeft), $"{name}_lora_seq_cls");
        Skip.IfNot(PeftInterchangeFixture.Exists(folder), NotGeneratedReason);
        using var fixture = PeftInterchangeFixture.Open(folder);
        using var classifier = PretrainedModel.FromDirectory(fixture.BaseFolder).LoadSequenceClassifier(numLabels: 3);
        var peft = PeftMethods.Load(classifier, fixture.AdapterFolder);   // LoRA on query/value, the head from the file
        Assert.Equal("LORA", peft.PeftType);
        classifier.eval();

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = ((ISequenceClassifier)classifier).Logits(fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds);
        double difference = (logits - fixture.Logits).abs().max().item<float>();
        output.WriteLine($"{name}_lora_seq_cls: max |ours - PEFT| {difference:G3} (written by {fixture.Versions})");
        Assert.True(difference < fixture.LogitsTolerance, $"{name}_lora_seq_cls: logits differ from PEFT's by {difference:G3}.");
    }

    static double MaxOverRealTokens(Tensor ours, Tensor reference, Tensor mask)
    {
        Assert.Equal(reference.shape, ours.shape);
        var perToken = (ours - reference).abs().amax(new long[] { -1 }).masked_fill(mask.eq(0), 0);   // (B, T)
        return perToken.max().item<float>();
    }
}
