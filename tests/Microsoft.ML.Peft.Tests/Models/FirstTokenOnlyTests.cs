using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Methods.Common;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models;

/// <summary>
/// The classification heads encode with <c>firstTokenOnly</c>: the last block computes only the position the head
/// reads. These tests hold it to the full forward: the same first-position state and pooler output, and the same
/// gradient for every parameter that each method of <see cref="MethodCases"/> trains.
/// </summary>
public class FirstTokenOnlyTests
{
    public static TheoryData<string, string, bool> Cases()
    {
        var cases = new TheoryData<string, string, bool>();
        foreach (string method in MethodCases.All.Keys)
            foreach (string modelType in new[] { "bert", "roberta" })
                foreach (bool training in new[] { false, true })
                    cases.Add(method, modelType, training);
        return cases;
    }

    /// <param name="training">
    /// Train mode runs the training kernels (the fused softmax-dropout attention node, the residual dropout); its
    /// dropout probabilities are 1e-12, active but in effect never dropping, so that both forwards compute the same.
    /// </param>
    [Theory]
    [MemberData(nameof(Cases))]
    public void It_gives_the_full_forwards_first_state_pooler_output_and_gradients(string method, string modelType, bool training)
    {
        using var scope = NewDisposeScope();
        var model = training ? NearlyDropoutFreeClassifier(modelType) : Classifier(modelType, layers: 3);
        MethodCases.All[method].Make().Apply(model);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        using (no_grad())
            foreach (var (_, p) in trainable) p.add_(randn_like(p) * 0.1);  // no zero-initialised factor hides a gradient

        // Two sequences, the second right-padded; BERT also gets a second segment.
        long pad = modelType == "roberta" ? 1 : 0;
        var ids = tensor(new long[] { 2, 7, 9, 11, 3, 5, 4, 6, 8, 3, pad, pad }, new long[] { 2, 6 });
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, new long[] { 2, 6 });
        var types = modelType == "bert" ? tensor(new long[] { 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0 }, new long[] { 2, 6 }) : null;
        var encoder = ((ISequenceClassifier)model).Encoder;
        var direction = randn(2, 32);  // the loss is the first state (or pooler output) along fixed directions

        var (fullState, fullGradients) = FirstStateAndGradients(() => encoder.forward(ids, mask, types));
        var (firstState, firstGradients) = FirstStateAndGradients(() => encoder.forward(ids, mask, types, firstTokenOnly: true));

        Assert.True(firstState.allclose(fullState, rtol: 0, atol: 1e-5), $"first state differs by {(firstState - fullState).abs().max().item<float>():E2}");
        Assert.Equal(fullGradients.Keys, firstGradients.Keys);
        Assert.NotEmpty(fullGradients);
        foreach (var (name, full) in fullGradients)
        {
            double scale = Math.Max(full.abs().max().item<float>(), 1e-3);
            float difference = (firstGradients[name] - full).abs().max().item<float>();
            Assert.True(difference <= 1e-4 * scale, $"{name}: gradient differs by {difference:E2} (largest entry {scale:E2})");
        }

        // Scoring runs without autograd, through other code (a dispose scope per block, the residual added in place).
        using (no_grad())
        {
            var scored = FirstState(encoder.forward(ids, mask, types, firstTokenOnly: true));
            Assert.True(scored.allclose(fullState, rtol: 0, atol: 1e-5), $"without autograd the first state differs by {(scored - fullState).abs().max().item<float>():E2}");
        }

        (Tensor State, Dictionary<string, Tensor> Gradients) FirstStateAndGradients(Func<BertOutput> forward)
        {
            foreach (var (_, p) in trainable) p.grad = null;
            var state = FirstState(forward());
            (state * direction).sum().backward();
            return (state.detach(), trainable.Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
        }
    }

    /// <summary>What the heads read: the pooler output, or (RoBERTa) the first position's state; (B, hidden).</summary>
    static Tensor FirstState(BertOutput output) => output.PoolerOutput ?? output.LastHiddenState.select(1, 0);

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public void One_left_padded_sequence_gets_the_full_forwards_logits(string modelType)
    {
        // Batch 1, where the first position's row is a view of the input, and a pad in position 0 (left padding).
        using var scope = NewDisposeScope();
        var model = (ISequenceClassifier)Classifier(modelType, layers: 3);
        long pad = modelType == "roberta" ? 1 : 0;
        var ids = tensor(new long[] { pad, pad, 7, 9, 11 }, new long[] { 1, 5 });
        var mask = tensor(new long[] { 0, 0, 1, 1, 1 }, new long[] { 1, 5 });
        using var noGrad = no_grad();
        var full = FirstState(model.Encoder.forward(ids, mask));
        var first = FirstState(model.Encoder.forward(ids, mask, firstTokenOnly: true));
        Assert.True(first.allclose(full, rtol: 0, atol: 1e-5), $"differs by {(first - full).abs().max().item<float>():E2}");
    }

    /// <param name="base">
    /// <c>bf16</c>: the benchmarked configuration, bf16 weights and the bf16 attention kernels in train mode; <c>nf4</c>:
    /// QLoRA, 4-bit base layers computing in bf16. bf16 rounds the two forwards' products differently, so they agree to
    /// bf16's precision rather than fp32's.
    /// </param>
    [Theory]
    [InlineData("bf16")]
    [InlineData("nf4")]
    public void LoRA_over_a_low_precision_base_trains_as_with_the_full_forward(string @base)
    {
        using var scope = NewDisposeScope();
        var model = NearlyDropoutFreeClassifier("bert");
        var lora = new Microsoft.ML.Peft.Methods.Lora.LoraOptions { Rank = 4, Alpha = 8 };
        if (@base == "bf16")
        {
            Microsoft.ML.Peft.Training.MixedPrecision.ToBFloat16(model);
            lora.Apply(model);
        }
        else
        {
            // Blocks of 32: the tiny model's FFN weights hold 37 × 32 values.
            var quantization = new Microsoft.ML.Peft.Quantization.QuantizationOptions { BlockSize = 32, DoubleQuant = false };
            new Microsoft.ML.Peft.Methods.QLora.QLoraOptions { Lora = lora, Quantization = quantization }.Apply(model);
            Assert.Contains(model.named_modules(), m => m.module is Microsoft.ML.Peft.Quantization.Linear4bit);
        }
        var factors = model.named_parameters().Where(p => p.parameter.requires_grad && p.name.Contains(".lora_", StringComparison.Ordinal)).ToList();
        using (no_grad())
            foreach (var (_, p) in factors) p.add_(randn_like(p) * 0.1);
        var encoder = ((ISequenceClassifier)model).Encoder;
        var ids = tensor(new long[] { 2, 7, 9, 11, 3, 5, 4, 6, 8, 3, 0, 0 }, new long[] { 2, 6 });
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, new long[] { 2, 6 });
        var direction = randn(2, 32);

        var full = Gradients(false);
        var first = Gradients(true);
        foreach (var (name, expected) in full)
        {
            double cosine = nn.functional.cosine_similarity(first[name].flatten(), expected.flatten(), 0).item<float>();
            Assert.True(cosine > 0.999, $"{name}: gradient cosine {cosine:F5}");
        }

        Dictionary<string, Tensor> Gradients(bool firstTokenOnly)
        {
            foreach (var (_, p) in factors) p.grad = null;
            (FirstState(encoder.forward(ids, mask, firstTokenOnly: firstTokenOnly)).to(ScalarType.Float32) * direction).sum().backward();
            return factors.ToDictionary(p => p.name, p => p.parameter.grad!.to(ScalarType.Float32));
        }
    }

    static nn.Module NearlyDropoutFreeClassifier(string modelType)
    {
        manual_seed(1);
        var config = TinyBert.Config(modelType, layers: 3);
        config.HiddenDropoutProb = config.AttentionProbsDropoutProb = 1e-12;
        nn.Module model = modelType == "roberta" ? new RobertaForSequenceClassification(config, 3) : new BertForSequenceClassification(config, 3);
        model.train();
        return model;
    }

    [Fact]
    public void The_last_state_is_one_position_and_token_states_are_refused()
    {
        using var scope = NewDisposeScope();
        var model = (ISequenceClassifier)Classifier(layers: 2);
        using var noGrad = no_grad();
        var output = model.Encoder.forward(Ids(), firstTokenOnly: true);
        Assert.Equal(new long[] { 2, 1, 32 }, output.LastHiddenState.shape);
        Assert.True(output.FirstTokenOnly);
        var error = Assert.Throws<InvalidOperationException>(() => output.TokenStates());
        Assert.Contains("firstTokenOnly", error.Message);
    }

    [Fact]
    public void A_per_query_mask_keeps_the_first_querys_row()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var encoder = new BertEncoder(TinyBert.Config(layers: 2));
        encoder.eval();
        var hidden = randn(2, 5, 32);
        // (B, 1, T, T): each query sees a different set of keys, itself always included.
        var mask = (rand(2, 1, 5, 5) > 0.4).logical_or(eye(5, dtype: ScalarType.Bool));
        using var noGrad = no_grad();
        var full = encoder.forward(hidden, mask).narrow(1, 0, 1);
        var first = encoder.forward(hidden, mask, firstTokenOnly: true);
        Assert.Equal(full.shape, first.shape);
        Assert.True(first.allclose(full, rtol: 0, atol: 1e-5), $"differs by {(first - full).abs().max().item<float>():E2}");
    }
}
