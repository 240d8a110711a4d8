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
    public static readonly string[] EncoderNames = { "bert", "roberta" };

    public static TheoryData<string> Encoders => new(EncoderNames);

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Hidden_states_and_logits_match_transformers(string name)
    {
        string folder = Path.Combine(HfReferenceFixture.Root, name);
        string tensorsPath = Path.Combine(folder, HfReferenceFixture.TensorsFile);
        Assert.True(File.Exists(tensorsPath), HfReferenceFixture.Missing(folder));
        using var scope = NewDisposeScope();
        using var reference = SafeTensorsFile.Open(tensorsPath);
        Tensor ids = reference.ReadTensor("input_ids"), mask = reference.ReadTensor("attention_mask"), types = reference.ReadTensor("token_type_ids");

        var model = PretrainedModel.FromDirectory(Path.Combine(folder, HfReferenceFixture.ModelFolderName));
        Assert.Equal(name, model.ModelType);
        using var classifier = model.LoadSequenceClassifier(numLabels: 3);   // strict: the saved head has 3 labels
        var sequenceClassifier = (ISequenceClassifier)classifier;
        using var noGrad = no_grad();
        string where = $"fixture {folder}";
        var hidden = sequenceClassifier.Encoder.forward(ids, mask, types).LastHiddenState;   // (B, T, H)
        double hiddenDifference = RealTokenDifference.AssertWithin(hidden, reference.ReadTensor("hidden"), mask, Tolerance, "hidden - transformers", where);
        double logitsDifference = AssertClassLogitsWithin(sequenceClassifier.Logits(ids, mask, types), reference.ReadTensor("logits"), Tolerance, where);
        output.WriteLine($"{name}: max |hidden diff| {hiddenDifference:G3} over real tokens, max |logits diff| {logitsDifference:G3}");
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Lora_adapter_saved_by_peft_for_sequence_classification_gives_peft_logits(string name)
    {
        string folder = Path.Combine(PeftInterchangeFixture.Root(PeftInterchangeFixture.FromPeft), $"{name}_lora_seq_cls");
        Assert.True(PeftInterchangeFixture.Exists(folder), HfReferenceFixture.Missing(folder));
        using var fixture = PeftInterchangeFixture.Open(folder);
        using var classifier = PretrainedModel.FromDirectory(fixture.BaseFolder).LoadSequenceClassifier(numLabels: 3);
        var peft = PeftMethods.Load(classifier, fixture.AdapterFolder);   // LoRA on query/value, the head from the file
        Assert.Equal("LORA", peft.PeftType);
        classifier.eval();

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = ((ISequenceClassifier)classifier).Logits(fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds);
        string where = $"{name}_lora_seq_cls (written by {fixture.Versions})";
        double difference = AssertClassLogitsWithin(logits, fixture.Logits, fixture.LogitsTolerance, where);
        output.WriteLine($"{where}: max |ours - PEFT| {difference:G3}");
    }

    const double Tolerance = 1e-4;

    // (B, num_labels) logits: one value per row, no padding to leave out.
    static double AssertClassLogitsWithin(Tensor ours, Tensor reference, double tolerance, string where)
    {
        Assert.True(ours.shape.SequenceEqual(reference.shape),
            $"{where}: logits shape [{string.Join(", ", ours.shape)}], the reference's [{string.Join(", ", reference.shape)}].");
        double max = (ours - reference).abs().max().item<float>();
        Assert.True(max < tolerance, $"{where}: logits differ from the reference by {max:G3} (tolerance {tolerance:G3}).");
        return max;
    }
}
