using System.Security.Cryptography;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tokenization;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tasks.Generation;

/// <summary>
/// What a fitted generation transformer holds: the base decoder's folder (and a hash of its files, so a changed
/// base is caught at load), the decoder with the PEFT method applied, and its tokenizer. Forward passes are
/// serialized with a lock: concurrent ML.NET cursors share the module.
/// </summary>
internal sealed class GenerationModelState
{
    public GenerationModelState(PretrainedDecoder decoder, IPeftModel peft, string baseHash)
    {
        Decoder = decoder;
        Peft = peft;
        BaseHash = baseHash;
        Model = (ICausalLM)peft.Model;
        Tokenizer = decoder.Tokenizer;
        Generator = new TextGenerator(Model, Tokenizer);
    }

    public PretrainedDecoder Decoder { get; }
    public IPeftModel Peft { get; }
    public string BaseHash { get; }
    public ICausalLM Model { get; }
    public TransformerTokenizer Tokenizer { get; }
    public TextGenerator Generator { get; }
    public object Lock { get; } = new();

    /// <summary>SHA-256 over <c>config.json</c> and the weight files of a model folder, in name order.</summary>
    public static string HashBase(string folder)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = Directory.GetFiles(folder, "*.safetensors").Append(Path.Combine(folder, "config.json"))
                             .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal);
        foreach (var file in files)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file)));
            sha.AppendData(File.ReadAllBytes(file));
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>Perplexity over examples, in batches, in evaluation mode.</summary>
    public PerplexityMetrics Perplexity(IEnumerable<CausalLmExample> examples, int batchSize)
    {
        double nll = 0;
        long tokens = 0;
        lock (Lock)
        {
            var module = (nn.Module)Model;
            module.eval();
            foreach (var chunk in examples.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                var (ids, mask, labels) = CausalLmExamples.Collate(chunk, Tokenizer.SpecialTokens.Pad);
                var (n, c) = CausalLmLoss.Sum(Model, ids, mask, labels);
                nll += n;
                tokens += c;
            }
        }
        return PerplexityMetrics.FromSum(nll, tokens);
    }
}
