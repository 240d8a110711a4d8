using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Generation;
using Microsoft.ML.Peft.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.HuggingFace;

/// <summary>
/// Writes the fixture format of make_reference.py from one of <em>our</em> models, so the reader and the comparison
/// can be tested without transformers. A fixture written this way proves the harness, never parity.
/// </summary>
internal static class HfReferenceWriter
{
    public const int Pad = 0, MaxNewTokens = 10;

    /// <summary>The batch make_reference.py uses (its 99 lowered to 96 for our vocabulary of 97): full, left-padded by 3, by 5.</summary>
    public static readonly long[,] InputIds =
    {
        { 17, 42, 8, 96, 23, 5, 61, 30 },
        { Pad, Pad, Pad, 11, 77, 3, 54, 90 },
        { Pad, Pad, Pad, Pad, Pad, 64, 12, 38 },
    };

    /// <summary>Writes <c>model/</c>, <c>reference.safetensors</c> and <c>reference.json</c> under <paramref name="folder"/>.</summary>
    public static void Write(string folder, ICausalLM model, string modelType, string configJson, bool tied, int eos, double? ropeTheta)
    {
        var module = (nn.Module)model;
        string modelFolder = Path.Combine(folder, HfReferenceFixture.ModelFolderName);
        Directory.CreateDirectory(modelFolder);
        File.WriteAllText(Path.Combine(modelFolder, "config.json"), configJson);
        // transformers leaves the tied head out of the file; so do we, so the strict load sees what it would see.
        SafeTensorsCheckpoint.Save(modelFolder, module.state_dict().Where(p => !(tied && p.Key.StartsWith("lm_head.", StringComparison.Ordinal))));

        using var scope = NewDisposeScope();
        var ids = tensor(InputIds);
        var mask = ids.ne(Pad).to(ScalarType.Int64);
        var positions = (mask.cumsum(-1) - 1).masked_fill(mask.eq(0), 1);
        Tensor logits;
        using (no_grad()) logits = model.forward(ids, mask, positions).to(ScalarType.Float32);
        var fixtureTensors = new Dictionary<string, Tensor>
        {
            ["input_ids"] = ids, ["attention_mask"] = mask, ["position_ids"] = positions, ["logits"] = logits,
            ["greedy_cached"] = Greedy(model, ids, mask, eos, useCache: true),
            ["greedy_uncached"] = Greedy(model, ids, mask, eos, useCache: false),
        };
        SafeTensorsWriter.Write(Path.Combine(folder, HfReferenceFixture.TensorsFile), fixtureTensors);

        var json = new Dictionary<string, object?>
        {
            ["format_version"] = 1, ["name"] = modelType, ["model_type"] = modelType, ["seed"] = 0,
            ["versions"] = new Dictionary<string, string> { ["writer"] = "HfReferenceWriter (our own model: a harness check, not parity)" },
            ["device"] = "cpu", ["dtype"] = "float32", ["rope_theta"] = ropeTheta, ["tie_word_embeddings"] = tied,
            ["pad_token_id"] = Pad, ["eos_token_id"] = eos, ["max_new_tokens"] = MaxNewTokens, ["logits_tolerance"] = 1e-4,
        };
        File.WriteAllText(Path.Combine(folder, HfReferenceFixture.JsonFile), JsonSerializer.Serialize(json));
    }

    /// <summary>Reads every tensor of the fixture's reference file, lets <paramref name="change"/> edit them, and writes them back.</summary>
    public static void Rewrite(string folder, Action<Dictionary<string, Tensor>> change)
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(folder, HfReferenceFixture.TensorsFile);
        Dictionary<string, Tensor> tensors;
        using (var file = SafeTensorsFile.Open(path)) tensors = file.Keys.ToDictionary(k => k, file.ReadTensor);
        change(tensors);
        SafeTensorsWriter.Write(path, tensors);
    }

    // (B, MaxNewTokens) int64 in transformers' layout: after a row's end of sequence, pad ids.
    static Tensor Greedy(ICausalLM model, Tensor ids, Tensor mask, int eos, bool useCache)
    {
        var rows = Enumerable.Range(0, (int)ids.shape[0])
            .Select(r => (IReadOnlyList<int>)ids[r].masked_select(mask[r].eq(1)).data<long>().Select(i => (int)i).ToArray())
            .ToList();
        var options = new GenerationOptions { MaxNewTokens = MaxNewTokens, UseCache = useCache, EosTokenIds = new[] { eos }, PadTokenId = Pad };
        var generated = new TextGenerator(model).GenerateIds(rows, options);
        var padded = new long[rows.Count, MaxNewTokens];
        for (int r = 0; r < rows.Count; r++)
            for (int t = 0; t < MaxNewTokens; t++)
                padded[r, t] = t < generated[r].Length ? generated[r][t] : Pad;
        return tensor(padded);
    }
}
