using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Onnx;
using Microsoft.ML.Peft.Tokenization;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models;

/// <summary>
/// Our TorchSharp BERT running the real all-MiniLM-L6-v2 (imported from its ONNX file) against ONNX Runtime
/// running that same ONNX file: the independent reference for the whole forward pass.
/// </summary>
public class MiniLmParityTests : IClassFixture<MiniLmFixture>, IDisposable
{
    readonly MiniLmFixture _fx;
    readonly PretrainedModel _pretrained;
    readonly BertModel _encoder;
    readonly InferenceSession _ort;

    public MiniLmParityTests(MiniLmFixture fx)
    {
        _fx = fx;
        _pretrained = PretrainedModel.FromDirectory(fx.Folder);
        _encoder = _pretrained.LoadEncoder();
        _ort = new InferenceSession(fx.OnnxPath);
    }

    public void Dispose()
    {
        _encoder.Dispose();
        _ort.Dispose();
    }

    static readonly string LongText = string.Join(" ", Enumerable.Repeat("The quick brown fox jumps over the lazy dog near the river bank.", 60));

    public static TheoryData<string[], string[]?> Batches => new()
    {
        { new[] { "This is an example sentence" }, null },
        { new[] { "Each sentence is converted" }, null },
        { new[] { "Hello, world!", "A much longer sentence that forces the first row to be padded considerably." }, null },
        { new[] { "Café naïve façade — résumé", "東京は日本の首都です", "$5 + 3 = 8?!", "" }, null },
        { new[] { "How old are you?", "What is the capital of France?" }, new[] { "I am six years old.", "Paris is the capital." } },
        { new[] { LongText }, null },                                           // truncated at 512 tokens
        { new[] { LongText, "short" }, null },                                  // truncated row next to a padded one
        { new[] { "unaffable gobbledygook antidisestablishmentarianism" }, null },
        { new[] { "Email me at someone@example.com or visit https://example.org/a?b=c" }, null },
    };

    [Theory]
    [MemberData(nameof(Batches))]
    public void Last_hidden_state_matches_onnx_runtime(string[] texts, string[]? pairs)
    {
        var batch = _pretrained.Tokenizer.EncodeBatch(texts, pairs, maxLength: 512);
        var expected = RunOrt(batch);   // (B, T, 384)

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (ids, mask, types) = batch.ToTensors();
        var actual = _encoder.forward(ids, mask, types).LastHiddenState.contiguous();
        Assert.Equal(new long[] { batch.BatchSize, batch.SequenceLength, 384 }, actual.shape);

        // Compare real tokens only: padded positions are not defined by either implementation.
        float[] ours = actual.data<float>().ToArray();
        double maxDiff = 0;
        for (int b = 0; b < batch.BatchSize; b++)
            for (int t = 0; t < batch.Length(b); t++)
                for (int h = 0; h < 384; h++)
                {
                    long i = ((long)b * batch.SequenceLength + t) * 384 + h;
                    maxDiff = Math.Max(maxDiff, Math.Abs(ours[i] - expected[i]));
                }
        Assert.True(maxDiff < 1e-4, $"max |ours - ORT| = {maxDiff:E2} over {batch.BatchSize}x{batch.SequenceLength} tokens");
        if (texts[0] == LongText) Assert.Equal(512, batch.SequenceLength);
    }

    [Fact]
    public void Mean_pooled_embeddings_reproduce_the_published_similarities()
    {
        // The similarity matrix published in sentence-transformers' quickstart for all-MiniLM-L6-v2 (mean pooling):
        // 0.6660, 0.1046 and 0.1411. (DESIGN.md attributes 0.6660 to "This is an example sentence" vs
        // "Each sentence is converted"; that pair gives 0.4046 here, in agreement with ONNX Runtime.)
        string[] sentences = { "The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium." };
        var batch = _pretrained.Tokenizer.EncodeBatch(sentences);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (ids, mask, types) = batch.ToTensors();
        var pooled = nn.functional.normalize(Pooling.Mean(_encoder.forward(ids, mask, types).LastHiddenState, mask), dim: 1);
        var similarity = pooled.matmul(pooled.T);
        Assert.Equal(0.6660, similarity[0, 1].item<float>(), 0.0005);
        Assert.Equal(0.1046, similarity[0, 2].item<float>(), 0.0005);
        Assert.Equal(0.1411, similarity[1, 2].item<float>(), 0.0005);
    }

    [Fact]
    public void Pooler_output_matches_onnx_runtime()
    {
        var batch = _pretrained.Tokenizer.EncodeBatch(new[] { "The pooler projects the first token.", "Second row" });
        using var results = _ort.Run(OrtInputs(batch));
        var expected = results.Single(r => r.Name != "last_hidden_state").AsEnumerable<float>().ToArray();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (ids, mask, types) = batch.ToTensors();
        var pooled = _encoder.forward(ids, mask, types).PoolerOutput!.contiguous().data<float>().ToArray();
        Assert.Equal(expected.Length, pooled.Length);
        Assert.True(expected.Zip(pooled).Max(p => Math.Abs(p.First - p.Second)) < 1e-4);
    }

    float[] RunOrt(TokenizedBatch batch)
    {
        using var results = _ort.Run(OrtInputs(batch));
        return results.Single(r => r.Name == "last_hidden_state").AsEnumerable<float>().ToArray();
    }

    static List<NamedOnnxValue> OrtInputs(TokenizedBatch batch)
    {
        var shape = new[] { batch.BatchSize, batch.SequenceLength };
        return new()
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.InputIds, shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(batch.AttentionMask, shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(batch.TokenTypeIds, shape)),
        };
    }
}
