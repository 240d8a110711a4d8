using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Models.Llama;
using Microsoft.ML.Peft.Tasks.TextClassification;
using Microsoft.ML.Peft.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.CudaProbe;

/// <summary>
/// Step d: the library on the target, checked against the CPU: tiny BERT, GPT-2 and LLaMA forward and greedy
/// generation, LoRA training through the shared Trainer, and the ML.NET LoRA text classifier end to end.
/// </summary>
internal static class LibrarySteps
{
    static readonly int[][] Prompts = [[5, 17, 42, 8, 3], [60, 2], [9, 9, 33, 71]];

    public static void Run(ProbeTarget target)
    {
        Probe.Step("d.bert-forward", () => BertForward(target));
        DecoderParity(target, "gpt2", () =>
        {
            torch.random.manual_seed(11);
            return new Gpt2LMHeadModel(new Gpt2Config
            {
                VocabSize = 97, NPositions = 64, NEmbd = 16, NLayer = 2, NHead = 4, TieWordEmbeddings = true,
                InitializerRange = 0.3, BosTokenId = 0, EosTokenId = 1,
            });
        });
        DecoderParity(target, "llama", () =>
        {
            torch.random.manual_seed(11);
            return new LlamaForCausalLM(new LlamaConfig
            {
                ModelType = "llama", VocabSize = 97, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2,
                NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64, TieWordEmbeddings = false,
                InitializerRange = 0.3, BosTokenId = new() { 0 }, EosTokenId = new() { 1 }, RmsNormEps = 1e-6,
            });
        });
        Probe.Step("d.gpt2-lora-train", () => Gpt2LoraTrain(target));

        // The ML.NET estimator end to end: a tiny random BERT folder, LoRA text classifier trained and scored on the target.
        string folder = Path.Combine(Path.GetTempPath(), $"cudaprobe-tiny-bert-{Environment.ProcessId}");
        Probe.Step("d.tiny-bert-folder", () => WriteTinyBertFolder(folder));
        foreach (bool bf16 in new[] { false, true })
            Probe.Step($"d.mlnet-lora-classifier-{(bf16 ? "bf16" : "fp32")}", () => MLNetClassifier(target, folder, bf16));
        Probe.Step("d.cleanup", () => { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); Probe.Say("removed " + folder); });
    }

    static BertConfig TinyBertConfig() => new()
    {
        ModelType = "bert", VocabSize = 99, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 37,
        MaxPositionEmbeddings = 64, TypeVocabSize = 2, PadTokenId = 0, LayerNormEps = 1e-12, InitializerRange = 0.2,
    };

    static void BertForward(ProbeTarget target)
    {
        string dev = target.Name;
        torch.random.manual_seed(7);
        using var model = new BertForSequenceClassification(TinyBertConfig(), 3);
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = randint(5, 99, new long[] { 4, 16 });
        var mask = ones(4, 16, dtype: ScalarType.Int64);
        mask[1, TensorIndex.Slice(10)] = 0;  // padded rows exercise the attention mask
        mask[3, TensorIndex.Slice(4)] = 0;
        var types = zeros(4, 16, dtype: ScalarType.Int64);
        var cpuLogits = model.Logits(ids, mask, types).clone();
        model.to(target.Device);
        var targetLogits = model.Logits(ids.to(target.Device), mask.to(target.Device), types.to(target.Device)).cpu();
        Probe.Say($"tiny BERT classifier fp32 logits {dev} vs cpu: max|diff|={Probe.MaxAbs(targetLogits - cpuLogits):G4} (max|logit|={Probe.MaxAbs(cpuLogits):G4}) shape=[{string.Join(",", targetLogits.shape)}]");
        model.to(ScalarType.BFloat16);
        var bfLogits = model.Logits(ids.to(target.Device), mask.to(target.Device), types.to(target.Device)).to(ScalarType.Float32).cpu();
        Probe.Say($"same model in bf16 on {dev} vs fp32 cpu: max|diff|={Probe.MaxAbs(bfLogits - cpuLogits):G4}");
    }

    // Greedy, never stopping early, so that every run emits the same number of ids.
    static GenerationOptions Greedy(bool useCache) => new() { MaxNewTokens = 12, EosTokenIds = Array.Empty<int>(), UseCache = useCache };

    /// <summary>A decoder's fp32 logits and greedy ids on the target vs the CPU, and greedy with vs without the KV cache.</summary>
    static void DecoderParity(ProbeTarget target, string name, Func<nn.Module> create) => Probe.Step($"d.{name}-forward-generate", () =>
    {
        string dev = target.Name;
        using var module = create();
        module.eval();
        var lm = (ICausalLM)module;
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 5, 17, 42, 8, 3, 60, 2, 9 }, new long[] { 1, 8 }, ScalarType.Int64);
        Tensor cpuLogits;
        using (no_grad()) cpuLogits = lm.forward(ids).clone();
        var cpuIds = new TextGenerator(lm).GenerateIds(Prompts, Greedy(useCache: true));
        module.to(target.Device);
        Probe.Say($"{name}: model device after .to({dev}) = {lm.Device}");
        Tensor targetLogits;
        using (no_grad()) targetLogits = lm.forward(ids.to(target.Device)).cpu();
        Probe.Say($"{name} fp32 logits {dev} vs cpu: max|diff|={Probe.MaxAbs(targetLogits - cpuLogits):G4} (max|logit|={Probe.MaxAbs(cpuLogits):G4})");
        var targetIds = new TextGenerator(lm).GenerateIds(Prompts, Greedy(useCache: true));
        Probe.Say($"{name} greedy ids {dev} vs cpu equal={SameIds(cpuIds, targetIds)}; cpu: {Ids(cpuIds)} | {dev}: {Ids(targetIds)}");
        var uncached = new TextGenerator(lm).GenerateIds(Prompts, Greedy(useCache: false));
        Probe.Say($"{name} on {dev}: greedy with KV cache equals without = {SameIds(uncached, targetIds)}");
    });

    // LoRA on a tiny GPT-2 through the shared Trainer, on the target (decoder backward, Conv1D LoRA, AdamW).
    static void Gpt2LoraTrain(ProbeTarget target)
    {
        torch.random.manual_seed(11);
        using var model = new Gpt2LMHeadModel(new Gpt2Config
        {
            VocabSize = 97, NPositions = 64, NEmbd = 32, NLayer = 2, NHead = 4, TieWordEmbeddings = true, InitializerRange = 0.02,
            BosTokenId = 0, EosTokenId = 1,
        });
        model.to(target.Device);
        new LoraOptions { Rank = 4, Alpha = 8 }.Apply(model);
        model.train();
        torch.random.manual_seed(3);
        // A learnable pattern: each sequence counts up from a random start (mod 97).
        var start = randint(0, 97, new long[] { 16, 1 });
        using var seqs = ((start + arange(0, 24, dtype: ScalarType.Int64).unsqueeze(0)) % 97).to(target.Device).DetachFromDisposeScope();
        var options = new TrainingOptions { LearningRate = 1e-2, BatchSize = 16, Epochs = 1, WarmupSteps = 0, Seed = 0, LogEverySteps = 0 };
        var trainer = new Trainer<int>(options, model.named_parameters(), _ =>
        {
            var logits = model.forward(seqs.narrow(1, 0, 23));
            return nn.functional.cross_entropy(logits.reshape(-1, 97).to(ScalarType.Float32), seqs.narrow(1, 1, 23).reshape(-1));
        });
        Probe.Say($"gpt2 LoRA trainable: {trainer.Summary}");
        var result = trainer.Fit(_ => Enumerable.Range(0, 30), 30);
        Losses("gpt2 LoRA", result.History);
    }

    static void WriteTinyBertFolder(string folder)
    {
        Directory.CreateDirectory(folder);
        var config = TinyBertConfig();
        var words = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(0, config.VocabSize - 5).Select(i => $"w{i}"));
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), words);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
        torch.random.manual_seed(7);
        using var source = new BertModel(config);
        SafeTensorsCheckpoint.Save(folder, source.state_dict());
        Probe.Say($"wrote {folder}: {string.Join(", ", Directory.GetFiles(folder).Select(Path.GetFileName))}");
    }

    static void MLNetClassifier(ProbeTarget target, string folder, bool bf16)
    {
        string dev = target.Name;
        var ml = new MLContext(seed: 1);
        var model = PretrainedModel.FromDirectory(folder);
        var options = new TextClassifierOptions
        {
            Method = new LoraOptions { Rank = 4, Alpha = 8 },
            MaxLength = 24,
            ScoringBatchSize = 8,
            Device = dev,
            Training = new TrainingOptions { Epochs = 10, BatchSize = 8, LearningRate = 1e-2, WarmupRatio = 0.1, LogEverySteps = 0, Seed = 0 },
        };
        options.UseBFloat16 = bf16;  // after Training is set: it writes Training.Precision
        var data = ml.Data.LoadFromEnumerable(ClassifierData.Rows(60, seed: 1));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Peft().LoraTextClassifier(model, options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel"));
        var clock = Stopwatch.StartNew();
        var chain = pipeline.Fit(data);
        double fitSeconds = clock.Elapsed.TotalSeconds;
        using var classifier = FindClassifier(chain);
        Probe.Say($"fitted in {fitSeconds:F2} s; classifier.Device={classifier.Device}, precision {options.Training.Precision}, {classifier.TrainableParameters}");
        var history = classifier.TrainingHistory!;
        Losses($"LoRA classifier {(bf16 ? "bf16" : "fp32")}", history);
        Probe.Say($"history.PeakCudaUsedMb={Probe.Mb(history.PeakCudaUsedMb)} history.PeakResidentMb={history.PeakResidentMb:F0}");
        var memory = MemoryReport.Current();
        Probe.Say($"MemoryReport.Current(): CudaUsedMb={Probe.Mb(memory.CudaUsedMb)} CudaTotalMb={Probe.Mb(memory.CudaTotalMb)} ({memory})");
        var heldOut = ClassifierData.Rows(30, seed: 2);
        var scored = chain.Transform(ml.Data.LoadFromEnumerable(heldOut));
        var predicted = scored.GetColumn<string>("PredictedText").ToArray();
        var labels = heldOut.Select(r => r.Label).ToArray();
        int right = predicted.Zip(labels).Count(p => p.First == p.Second);
        Probe.Say($"held-out accuracy through ML.NET Transform on {dev}: {right}/{labels.Length} (3 classes, chance ~10/30)");
    }

    static PeftTextClassificationTransformer FindClassifier(ITransformer model) => model switch
    {
        PeftTextClassificationTransformer c => c,
        IEnumerable<ITransformer> chain => chain.Select(t => t is PeftTextClassificationTransformer or IEnumerable<ITransformer> ? FindClassifier(t) : null)
            .First(c => c is not null)!,
        _ => throw new InvalidOperationException("no classifier in " + model.GetType()),
    };

    static bool SameIds(IReadOnlyList<int[]> a, IReadOnlyList<int[]> b) => a.Count == b.Count && a.Zip(b).All(p => p.First.SequenceEqual(p.Second));

    static string Ids(IReadOnlyList<int[]> rows) => string.Join(" / ", rows.Select(r => string.Join(",", r)));

    static void Losses(string what, TrainingHistory history)
    {
        var losses = history.Steps.Select(s => s.Loss).ToList();
        Probe.Say($"{what}: {losses.Count} steps, per-step loss: {string.Join(" ", losses.Select(l => l.ToString("F3", CultureInfo.InvariantCulture)))}");
        int k = Math.Max(1, Math.Min(5, losses.Count / 3));
        double first = losses.Take(k).Average(), last = losses.TakeLast(k).Average();
        Probe.Say($"{what}: mean loss of first {k} steps {first:F4}, last {k} steps {last:F4}, loss fell={last < first}, skipped steps={history.Steps.Count(s => s.Skipped)}");
    }
}
