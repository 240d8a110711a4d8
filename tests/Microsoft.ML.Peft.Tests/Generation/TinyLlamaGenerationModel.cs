using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Models.Llama;
using Microsoft.ML.Peft.Tests.Decoders;

namespace Microsoft.ML.Peft.Tests.Generation;

/// <summary>
/// A tiny random LLaMA (grouped-query attention, untied head, 64 positions) saved as a Hugging Face folder with the
/// hand-written SentencePiece <c>tokenizer.model</c> of <see cref="TinySentencePiece"/> (BOS 1, EOS 2, byte fallback):
/// the LLaMA-family counterpart of <see cref="TinyGenerationModel"/>.
/// </summary>
internal sealed class TinyLlamaGenerationModel : IDisposable
{
    public const int Vocab = 270, Bos = 1, Eos = 2;

    public TinyLlamaGenerationModel(int seed = 5)
    {
        Directory.CreateDirectory(Folder);
        Config = TinyDecoders.Llama();
        Config.VocabSize = Vocab;
        Config.BosTokenId = new() { Bos };
        Config.EosTokenId = new() { Eos };
        File.WriteAllText(Path.Combine(Folder, "config.json"), Config.ToJson());
        using var model = TinyDecoders.LlamaModel(Config, seed);
        SafeTensorsCheckpoint.Save(Folder, model.state_dict());
        TinySentencePiece.Write(Path.Combine(Folder, "tokenizer.model"));
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "peft-llama-gen-" + Guid.NewGuid().ToString("N")[..12]);

    public LlamaConfig Config { get; }

    public PretrainedDecoder Open() => PretrainedDecoder.FromDirectory(Folder);

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
    }
}
