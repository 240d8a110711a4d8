using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Tokenization;
using Microsoft.ML.Peft.Training;
using Microsoft.ML.Peft.Tests.Decoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// Prompt + completion training puts the loss on the completion (and its end-of-text) only: prompt labels are −100,
/// nothing flows back from the positions that predict prompt tokens, and the loss Fit logs and the perplexity it
/// reports equal the completion-only negative log-likelihood computed independently.
/// </summary>
public sealed class CompletionOnlyLossTests : IDisposable
{
    readonly TinyGenerationModel gpt2 = new();
    readonly TinyLlamaGenerationModel llama = new();

    public void Dispose()
    {
        gpt2.Dispose();
        llama.Dispose();
    }

    sealed class PairRow { public string Prompt { get; set; } = ""; public string Completion { get; set; } = ""; }

    static readonly (string Prompt, string Completion)[] Pairs = { ("Q: the cat?", " A: sat"), ("Q: hat?", " A: on the mat") };

    [Fact]
    public void Prompt_labels_are_ignored_whatever_the_prompt_says()
    {
        foreach (var tokenizer in new[] { gpt2.Open().Tokenizer, llama.Open().Tokenizer })
        {
            var a = CausalLmExamples.FromPromptCompletion(tokenizer, "Q: the cat?", " A: sat", 64)!;
            var b = CausalLmExamples.FromPromptCompletion(tokenizer, "Z: qqq!", " A: sat", 64)!;
            int promptA = tokenizer.EncodeToIds("Q: the cat?").Count, promptB = tokenizer.EncodeToIds("Z: qqq!").Count;
            Assert.All(a.Labels.Take(promptA), l => Assert.Equal(CausalLmLoss.IgnoreIndex, l));
            Assert.All(b.Labels.Take(promptB), l => Assert.Equal(CausalLmLoss.IgnoreIndex, l));
            // Another prompt changes how many labels are masked, never which completion tokens are learned.
            Assert.Equal(a.Labels.Skip(promptA), b.Labels.Skip(promptB));
            Assert.Equal(a.Ids.Skip(promptA), a.Labels.Skip(promptA));
            Assert.Equal(tokenizer.SpecialTokens.Eos, (int)a.Labels[^1]);
        }
    }

    [Fact]
    public void Positions_that_predict_prompt_tokens_get_no_gradient()
    {
        var tokenizer = gpt2.Open().Tokenizer;
        var examples = Pairs.Select(p => CausalLmExamples.FromPromptCompletion(tokenizer, p.Prompt, p.Completion, 64)!).ToArray();
        using var scope = NewDisposeScope();
        var (ids, mask, labels) = CausalLmExamples.Collate(examples, tokenizer.SpecialTokens.Pad);
        var model = new LeafLogits((ICausalLM)gpt2.Open().LoadModel());
        var loss = CausalLmLoss.Mean(model, ids, mask, labels);
        loss.backward();

        var gradient = model.Logits!.grad!.abs().sum(-1);             // (B, T): how much each position's logits matter
        var next = labels.data<long>().ToArray();
        long t = labels.shape[1];
        for (int b = 0; b < examples.Length; b++)
            for (int i = 0; i < t; i++)
            {
                bool learned = i + 1 < t && next[b * t + i + 1] != CausalLmLoss.IgnoreIndex;
                double g = gradient[b, i].item<float>();
                if (learned) Assert.True(g > 0, $"row {b} position {i} predicts a completion token but has no gradient");
                else Assert.Equal(0.0, g);
            }
    }

    [Fact]
    public void Fit_logs_and_evaluates_the_completion_only_loss()
    {
        var ml = new MLContext(seed: 1);
        var decoder = gpt2.Open();
        var data = ml.Data.LoadFromEnumerable(new[] { new PairRow { Prompt = Pairs[0].Prompt, Completion = Pairs[0].Completion } });
        var options = GenerationMethodMatrix.Options("lora");
        options.PromptColumnName = "Prompt";
        options.CompletionColumnName = "Completion";
        options.Training = new TrainingOptions { LearningRate = 1e-2, Epochs = 1, BatchSize = 1, WarmupSteps = 0, Seed = 1, LogEverySteps = 0 };
        var estimator = ml.Peft().LoraTextGenerator(decoder, rank: 4, alpha: 8, dropout: 0, options: options);

        // LoRA starts equal to the base, so the first step's loss is the base model's loss on this row.
        var (completionOnly, tokens) = Nll(decoder, Pairs[0].Prompt, Pairs[0].Completion, completionOnly: true);
        var (everything, _) = Nll(decoder, Pairs[0].Prompt, Pairs[0].Completion, completionOnly: false);
        Assert.True(Math.Abs(completionOnly - everything) > 1e-2, "the test row must tell the two losses apart");

        var baseline = estimator.CreateBaseline().EvaluatePerplexity(data, "Prompt", "Completion");
        Assert.Equal(tokens, baseline.TokenCount);
        Assert.Equal(Math.Exp(completionOnly), baseline.Perplexity, 1e-3);

        estimator.Fit(data);
        var first = estimator.LastTrainingResult!.History.Steps[0];
        Assert.Equal(completionOnly, first.Loss, 1e-4);
    }

    // Mean next-token NLL of prompt + completion + end-of-text under the base model, over the completion's tokens
    // (or over every token after the first), computed one position at a time.
    static (double MeanNll, long Tokens) Nll(PretrainedDecoder decoder, string prompt, string completion, bool completionOnly)
    {
        var tokenizer = decoder.Tokenizer;
        var promptIds = tokenizer.EncodeToIds(prompt).Select(i => (long)i).ToArray();
        var ids = promptIds.Concat(tokenizer.EncodeToIds(completion, addSpecialTokens: false).Select(i => (long)i))
                           .Append(tokenizer.SpecialTokens.Eos!.Value).ToArray();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var model = decoder.LoadModel();
        var logp = model.forward(torch.tensor(ids, new long[] { 1, ids.Length })).log_softmax(-1);
        double nll = 0;
        long count = 0;
        for (int t = completionOnly ? promptIds.Length : 1; t < ids.Length; t++, count++) nll -= logp[0, t - 1, ids[t]].item<float>();
        ((nn.Module)model).Dispose();
        return (nll / count, count);
    }

    // Runs the model and hands back its logits as a leaf tensor, so the test can read the loss's gradient per position.
    sealed class LeafLogits(ICausalLM inner) : DelegatingCausalLM(inner)
    {
        public Tensor? Logits { get; private set; }

        public override Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
        {
            using (no_grad()) Logits = Inner.forward(inputIds, attentionMask, positionIds, cache).detach();
            Logits = Logits.requires_grad_(true).MoveToOuterDisposeScope();
            return Logits;
        }
    }
}
