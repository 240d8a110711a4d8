using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Llama;
using Microsoft.ML.Peft.Tests.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Decoders;

public sealed class LlamaModelTests
{
    // Hugging Face LlamaForCausalLM / Qwen2ForCausalLM as save_pretrained writes them, by hand from HF's naming.
    static IEnumerable<string> HfKeys(int layers, bool qkvBias, bool outputBias, bool tied)
    {
        yield return "model.embed_tokens.weight";
        for (int i = 0; i < layers; i++)
        {
            string p = $"model.layers.{i}.";
            yield return p + "input_layernorm.weight";
            foreach (string proj in new[] { "q_proj", "k_proj", "v_proj" })
            {
                yield return p + $"self_attn.{proj}.weight";
                if (qkvBias) yield return p + $"self_attn.{proj}.bias";
            }
            yield return p + "self_attn.o_proj.weight";
            if (outputBias) yield return p + "self_attn.o_proj.bias";
            yield return p + "post_attention_layernorm.weight";
            yield return p + "mlp.gate_proj.weight";
            yield return p + "mlp.up_proj.weight";
            yield return p + "mlp.down_proj.weight";
        }
        yield return "model.norm.weight";
        if (!tied) yield return "lm_head.weight";
    }

    static void AssertKeys(LlamaConfig config, IEnumerable<string> expected)
    {
        using var model = new LlamaForCausalLM(config);
        Assert.Equal(expected.Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LlamaKeysEqualHuggingFace() => AssertKeys(TinyDecoders.Llama(), HfKeys(2, false, false, tied: false));

    [Fact]
    public void TiedLlamaHasNoHeadKey() => AssertKeys(TinyDecoders.Llama(tied: true), HfKeys(2, false, false, tied: true));

    [Fact]
    public void Qwen2HasQkvBiasesButNoOutputBias() => AssertKeys(TinyDecoders.Qwen2(), HfKeys(2, qkvBias: true, outputBias: false, tied: true));

    [Fact]
    public void LlamaAttentionBiasAddsAllFourBiases()
    {
        var config = TinyDecoders.Llama();
        config.AttentionBias = true;
        config.MlpBias = true;
        var keys = HfKeys(2, true, true, false).ToList();
        for (int i = 0; i < 2; i++)
            keys.AddRange(new[] { "gate_proj", "up_proj", "down_proj" }.Select(m => $"model.layers.{i}.mlp.{m}.bias"));
        AssertKeys(config, keys);
    }

    [Fact]
    public void GqaShapesFollowKeyValueHeads()
    {
        using var model = new LlamaForCausalLM(TinyDecoders.Qwen2());
        var state = model.state_dict();
        Assert.Equal(new long[] { 32, 32 }, state["model.layers.0.self_attn.q_proj.weight"].shape);
        Assert.Equal(new long[] { 8, 32 }, state["model.layers.0.self_attn.k_proj.weight"].shape);    // 1 kv head × head_dim 8
        Assert.Equal(new long[] { 8 }, state["model.layers.0.self_attn.v_proj.bias"].shape);
    }

    [Fact]
    public void ExplicitHeadDimDecouplesHeadsFromHiddenSize()
    {
        var config = TinyDecoders.Llama();
        config.HeadDimension = 16;   // 4 heads × 16 = 64 ≠ hidden 32, as in some Mistral/Qwen configs
        using var model = TinyDecoders.LlamaModel(config);
        Assert.Equal(new long[] { 64, 32 }, model.state_dict()["model.layers.0.self_attn.q_proj.weight"].shape);
        Assert.Equal(new long[] { 32, 64 }, model.state_dict()["model.layers.0.self_attn.o_proj.weight"].shape);
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 1, 3, TinyDecoders.Vocab }, model.forward(TinyDecoders.Ids(1, 2, 3)).shape);
    }

    [Fact]
    public void GqaWithAsManyKeyValueHeadsAsHeadsIsMultiHeadAttention()
    {
        // Build MHA weights by repeating each kv head for its query group; outputs must agree.
        using var gqa = TinyDecoders.LlamaModel(TinyDecoders.Llama(kvHeads: 2), seed: 4);
        using var mha = TinyDecoders.LlamaModel(TinyDecoders.Llama(kvHeads: 4), seed: 5);
        var source = gqa.state_dict();
        using (no_grad())
        {
            foreach (var (key, target) in mha.state_dict())
            {
                var weight = source[key];
                if (key.EndsWith("k_proj.weight") || key.EndsWith("v_proj.weight"))
                    target.copy_(weight.view(2, 8, 32).repeat_interleave(2, 0).reshape(32, 32));   // kv head h serves query heads 2h, 2h+1
                else target.copy_(weight);
            }
        }
        using var scope = NewDisposeScope();
        var ids = TinyDecoders.Ids(3, 9, 27, 81, 50);
        Assert.True(gqa.forward(ids).allclose(mha.forward(ids), 1e-4, 1e-5));
    }

    [Fact]
    public void RepeatKvRepeatsEachHeadForItsGroup()
    {
        using var x = arange(2 * 3).to(ScalarType.Float32).view(1, 2, 3, 1);        // 2 kv heads
        using var repeated = LlamaAttention.RepeatKv(x, 2);                          // heads 0,1 ← kv 0; heads 2,3 ← kv 1
        Assert.Equal(new long[] { 1, 4, 3, 1 }, repeated.shape);
        Assert.Equal(new float[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 }, repeated.contiguous().data<float>().ToArray());
    }

    [Fact]
    public void RmsNormMatchesItsFormula()
    {
        torch.manual_seed(2);
        using var norm = new RmsNorm(6, 1e-5);
        using (no_grad()) norm.Weight.normal_();
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 6) * 3;
        var expected = norm.Weight * x / (x.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-5).sqrt();
        Assert.True(norm.forward(x).allclose(expected, 1e-5, 1e-6));
        // bf16 input: statistics in fp32, result back in bf16.
        using var half = new RmsNorm(6, 1e-5);
        half.to(ScalarType.BFloat16);
        var y = half.forward(x.to(ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.True(y.to(ScalarType.Float32).allclose(x / (x.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-5).sqrt(), 2e-2, 2e-2));
    }

    [Fact]
    public void RotaryScoresDependOnlyOnThePositionDifference()
    {
        var rope = new RotaryEmbedding(8, 10000);
        using var scope = NewDisposeScope();
        torch.manual_seed(9);
        var q = randn(1, 1, 1, 8);
        var k = randn(1, 1, 1, 8);
        double Score(long qPos, long kPos)
        {
            var (cq, sq) = rope.CosSin(torch.tensor(new[] { qPos }).view(1, 1), ScalarType.Float32);
            var (ck, sk) = rope.CosSin(torch.tensor(new[] { kPos }).view(1, 1), ScalarType.Float32);
            return (RotaryEmbedding.Apply(q, cq, sq) * RotaryEmbedding.Apply(k, ck, sk)).sum().item<float>();
        }
        Assert.Equal(Score(5, 2), Score(13, 10), 4);
        Assert.Equal(Score(5, 2), Score(3, 0), 4);
        Assert.NotEqual(Score(5, 2), Score(5, 4), 3);
        // Position 0 is the identity rotation.
        var (c0, s0) = rope.CosSin(torch.tensor(new long[] { 0 }).view(1, 1), ScalarType.Float32);
        Assert.True(RotaryEmbedding.Apply(q, c0, s0).allclose(q));
    }

    [Fact]
    public void LinearRopeScalingDividesPositions()
    {
        var scaled = new RotaryEmbedding(8, 10000, new RopeScaling { Type = "linear", Factor = 4 });
        var plain = new RotaryEmbedding(8, 10000);
        using var scope = NewDisposeScope();
        var (c1, s1) = scaled.CosSin(torch.tensor(new long[] { 8 }).view(1, 1), ScalarType.Float32);
        var (c2, s2) = plain.CosSin(torch.tensor(new long[] { 2 }).view(1, 1), ScalarType.Float32);
        Assert.True(c1.allclose(c2, 1e-5, 1e-6) && s1.allclose(s2, 1e-5, 1e-6));
    }

    [Fact]
    public void UnknownRopeScalingFailsNamingIt()
    {
        var config = TinyDecoders.Llama();
        config.RopeScaling = new RopeScaling { RopeType = "yarn", Factor = 2 };
        var e = Assert.Throws<NotSupportedException>(config.Validate);
        Assert.Contains("yarn", e.Message);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void CachedStepsGiveTheLogitsOfTheFullSequence(string kind)
    {
        using var model = TinyDecoders.LlamaModel(kind == "qwen2" ? TinyDecoders.Qwen2() : TinyDecoders.Llama());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var full = model.forward(TinyDecoders.Ids(3, 14, 15, 9, 2, 6));
        using var cache = new KvCache(model.NumLayers);
        var first = model.forward(TinyDecoders.Ids(3, 14, 15, 9), cache: cache);
        var second = model.forward(TinyDecoders.Ids(2), cache: cache);
        var third = model.forward(TinyDecoders.Ids(6), cache: cache);
        var (keys, _) = cache.Get(0)!.Value;
        Assert.Equal(new long[] { 1, model.Config.KeyValueHeads, 6, model.Config.HeadDim }, keys.shape);   // cache holds kv heads, not heads
        Assert.True(full.allclose(cat(new[] { first, second, third }, 1), 1e-4, 1e-5));
    }

    public static TheoryData<string> Configs => new() { "llama", "qwen2" };

    [Fact]
    public void LeftPaddingDoesNotChangeTheRealTokensLogits()
    {
        using var model = TinyDecoders.LlamaModel(TinyDecoders.Llama());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var alone = model.forward(TinyDecoders.Ids(7, 8, 9));
        var padded = model.forward(TinyDecoders.Ids(0, 0, 7, 8, 9), torch.tensor(new long[] { 0, 0, 1, 1, 1 }).unsqueeze(0));
        Assert.True(alone.allclose(padded.narrow(1, 2, 3), 1e-4, 1e-5));
    }

    [Fact]
    public void SlidingWindowLimitsAttention()
    {
        var config = TinyDecoders.Llama();
        config.ModelType = "mistral";
        config.SlidingWindow = 2;
        using var windowed = TinyDecoders.LlamaModel(config, seed: 3);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // With a window of 2, the last token's output ignores everything but the last two tokens... in layer 1;
        // two layers see 3 tokens back. Changing the first of six tokens must not change the last logits.
        var a = windowed.forward(TinyDecoders.Ids(1, 2, 3, 4, 5, 6)).select(1, -1);
        var b = windowed.forward(TinyDecoders.Ids(90, 2, 3, 4, 5, 6)).select(1, -1);
        Assert.True(a.allclose(b, 1e-5, 1e-6));
    }
}
