using System.Diagnostics;
using Microsoft.ML.Peft;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Tasks.Generation;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Generation.Pretraining;

/// <summary>
/// Pretrains the small GPT-2-architecture decoder shipped in <c>Model/</c>:
/// <c>dotnet run -c Release --project samples/Generation -- pretrain [--steps N] [--corpus DIR] [--out DIR]</c>.
/// Learns the byte-level BPE vocabulary, trains next-token prediction on random 256-token windows of the training
/// chapters, saves weights in bf16, reloads the folder and reports validation perplexity on the held-out chapters.
/// </summary>
public static class Pretrainer
{
    const int MergeCount = 384, Context = 256, BatchSize = 8, Seed = 1234;

    /// <summary>Runs the command.</summary>
    public static void Run(string[] args)
    {
        int steps = int.Parse(Option(args, "--steps") ?? "500");
        string corpusFolder = Option(args, "--corpus") ?? MobyDickCorpus.DefaultFolder;
        string output = Option(args, "--out") ?? Path.Combine(AppContext.BaseDirectory, "../../../Model");
        torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
        var corpus = MobyDickCorpus.Load(corpusFolder);
        Console.WriteLine($"corpus: {corpus.Train.Count} training chapters ({corpus.Train.Sum(t => t.Length):N0} chars), {corpus.Validation.Count} held out");

        int vocabSize = ByteBpeLearner.LearnAndSave(corpus.Train, MergeCount, output);
        var config = new Gpt2Config
        {
            VocabSize = vocabSize, NPositions = Context, NEmbd = 256, NLayer = 4, NHead = 4,
            ResidPdrop = 0, EmbdPdrop = 0, AttnPdrop = 0,
            BosTokenId = vocabSize - 1, EosTokenId = vocabSize - 1, Architectures = new() { "GPT2LMHeadModel" },
        };
        File.WriteAllText(Path.Combine(output, "config.json"), config.ToJson());
        File.WriteAllText(Path.Combine(output, "tokenizer_config.json"),
            "{\n  \"tokenizer_class\": \"GPT2Tokenizer\",\n  \"bos_token\": \"<|endoftext|>\",\n  \"eos_token\": \"<|endoftext|>\",\n  \"unk_token\": \"<|endoftext|>\",\n  \"model_max_length\": 256\n}\n");
        var tokenizer = PretrainedDecoderTokenizer(output);
        long[] train = Tokenize(tokenizer, corpus.Train, vocabSize - 1);
        long[] validation = Tokenize(tokenizer, corpus.Validation, vocabSize - 1);
        Console.WriteLine($"tokens: {train.Length:N0} train, {validation.Length:N0} validation; vocabulary {vocabSize}");

        torch.manual_seed(Seed);
        using var model = new Gpt2LMHeadModel(config);
        bool bf16 = args.Contains("--bf16");
        if (bf16) MixedPrecision.ToBFloat16(model);
        var options = new TrainingOptions
        {
            LearningRate = 1e-3, WeightDecay = 0.1, Beta2 = 0.95, Epochs = 1, BatchSize = BatchSize, WarmupSteps = Math.Min(100, steps / 10),
            MinLearningRateRatio = 0.1, MaxGradientNorm = 1.0, Seed = Seed, Precision = bf16 ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32, LogEverySteps = Math.Max(1, Math.Min(50, steps / 10)),
        };
        var trainer = new Trainer<(Tensor Ids, Tensor Labels)>(options, model.named_parameters(), b => CausalLmLoss.Mean(model, b.Ids, null, b.Labels))
        {
            Model = model,
            Log = line => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}"),
        };
        var watch = Stopwatch.StartNew();
        var random = new Random(Seed);
        trainer.Fit(_ => Windows(train, random, steps), steps);
        watch.Stop();
        SafeTensorsCheckpoint.Save(output, model.state_dict().Select(kv => KeyValuePair.Create(kv.Key, kv.Value.to_type(ScalarType.BFloat16).contiguous())));

        // Report on the saved (bf16) weights, read back the way users will read them.
        var decoder = PretrainedDecoder.FromDirectory(output);
        var reloaded = decoder.LoadModel();
        double perplexity = Perplexity(reloaded, validation);
        Console.WriteLine($"RESULT steps={steps} tokens_seen={(long)steps * BatchSize * Context} train_seconds={watch.Elapsed.TotalSeconds:F0} validation_perplexity={perplexity:F2} params={model.parameters().Sum(p => p.numel())}");
    }

    static Microsoft.ML.Peft.Tokenization.TransformerTokenizer PretrainedDecoderTokenizer(string folder) =>
        Microsoft.ML.Peft.Tokenization.TokenizerLoader.FromDirectory(folder, "gpt2");

    static long[] Tokenize(Microsoft.ML.Peft.Tokenization.TransformerTokenizer tokenizer, IEnumerable<string> texts, int eos) =>
        texts.SelectMany(t => tokenizer.EncodeToIds(t, addSpecialTokens: false).Select(i => (long)i).Append(eos)).ToArray();

    // Random (B, T) windows; the labels are the ids (the loss shifts them).
    static IEnumerable<(Tensor, Tensor)> Windows(long[] tokens, Random random, int count)
    {
        for (int s = 0; s < count; s++)
        {
            var batch = new long[BatchSize * Context];
            for (int b = 0; b < BatchSize; b++)
                Array.Copy(tokens, random.Next(tokens.Length - Context), batch, b * Context, Context);
            var ids = torch.tensor(batch, new long[] { BatchSize, Context });
            yield return (ids, ids.alias());
        }
    }

    /// <summary>exp(mean NLL) over non-overlapping windows of the held-out tokens.</summary>
    public static double Perplexity(ICausalLM model, long[] tokens)
    {
        double nll = 0;
        long count = 0;
        for (int start = 0; start + 1 < tokens.Length; start += Context)
        {
            int length = Math.Min(Context, tokens.Length - start);
            using var ids = torch.tensor(tokens.AsSpan(start, length).ToArray(), new long[] { 1, length });
            var (n, c) = CausalLmLoss.Sum(model, ids, null, ids);
            nll += n;
            count += c;
        }
        return Math.Exp(nll / count);
    }

    static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
