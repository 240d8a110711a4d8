using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models;

/// <summary>A tiny random BERT or RoBERTa written as a Hugging Face folder (config, weights, tokenizer files).</summary>
internal sealed class TinyModelFolder : IDisposable
{
    public TinyModelFolder(string modelType, long? maxShardBytes = null, nn.Module? model = null)
    {
        Folder = NuGetPackages.NewTempFolder("tiny-" + modelType);
        Config = TinyBert.Config(modelType);
        if (modelType == "roberta")
        {
            using var bpe = new TinyBpeFiles(roberta: true);
            Config.VocabSize = bpe.Vocab.Count;
            File.Copy(bpe.VocabPath, Path.Combine(Folder, "vocab.json"));
            File.Copy(bpe.MergesPath, Path.Combine(Folder, "merges.txt"));
        }
        else
        {
            // [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then plain words up to the vocabulary size.
            var words = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
                .Concat(Enumerable.Range(0, Config.VocabSize - 5).Select(i => $"w{i}"));
            File.WriteAllLines(Path.Combine(Folder, "vocab.txt"), words);
        }
        File.WriteAllText(Path.Combine(Folder, "config.json"), Config.ToJson());
        torch.manual_seed(7);
        Source = model ?? new BertModel(Config);
        SafeTensorsCheckpoint.Save(Folder, Source.state_dict(), maxShardBytes);
    }

    public string Folder { get; }
    public BertConfig Config { get; }
    public nn.Module Source { get; }

    public string PathOf(string file) => System.IO.Path.Combine(Folder, file);

    public void Dispose()
    {
        Source.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
