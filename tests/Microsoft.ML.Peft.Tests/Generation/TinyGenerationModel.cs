using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Tokenization;
using TorchSharp;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// A tiny random GPT-2 saved as a Hugging Face folder with a byte-level tokenizer (256 byte symbols +
/// <c>&lt;|endoftext|&gt;</c>, no merges): what the generation estimator needs, built in milliseconds.
/// </summary>
internal sealed class TinyGenerationModel : IDisposable
{
    public const int Vocab = 257, Eos = 256;

    public TinyGenerationModel(int seed = 5, int positions = 64)
    {
        Directory.CreateDirectory(Folder);
        var vocab = ByteLevelChars.Alphabet.Select((c, i) => (c, i)).ToDictionary(p => p.c.ToString(), p => p.i);
        vocab["<|endoftext|>"] = Eos;
        File.WriteAllText(Path.Combine(Folder, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(Folder, "merges.txt"), "#version: 0.2\n");
        Config = new Gpt2Config
        {
            VocabSize = Vocab, NPositions = positions, NEmbd = 32, NLayer = 2, NHead = 4, InitializerRange = 0.2,
            BosTokenId = Eos, EosTokenId = Eos, ResidPdrop = 0, EmbdPdrop = 0, AttnPdrop = 0,
        };
        File.WriteAllText(Path.Combine(Folder, "config.json"), Config.ToJson());
        torch.manual_seed(seed);
        using var model = new Gpt2LMHeadModel(Config);
        SafeTensorsCheckpoint.Save(Folder, model.state_dict());
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "peft-gen-" + Guid.NewGuid().ToString("N")[..12]);

    public Gpt2Config Config { get; }

    public PretrainedDecoder Open() => PretrainedDecoder.FromDirectory(Folder);

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
    }
}
