using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Gpt2;
using Microsoft.ML.Peft.Tests.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Decoders;

public sealed class Gpt2ModelTests
{
    static IEnumerable<string> HfGpt2Keys(int layers, bool tied)
    {
        // Hugging Face GPT2LMHeadModel as save_pretrained writes it (the tied lm_head.weight dropped).
        yield return "transformer.wte.weight";
        yield return "transformer.wpe.weight";
        for (int i = 0; i < layers; i++)
        {
            foreach (string name in new[]
            {
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
                "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
            })
                yield return $"transformer.h.{i}.{name}";
        }
        yield return "transformer.ln_f.weight";
        yield return "transformer.ln_f.bias";
        if (!tied) yield return "lm_head.weight";
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StateDictKeysAndShapesEqualHuggingFace(bool tied)
    {
        using var model = TinyDecoders.Gpt2Model(tied);
        var state = model.state_dict();
        Assert.Equal(HfGpt2Keys(2, tied).Order(StringComparer.Ordinal), state.Keys.Order(StringComparer.Ordinal));
        // Conv1D stores [in, out]: c_attn is [n_embd, 3·n_embd], c_fc [n_embd, n_inner], mlp.c_proj [n_inner, n_embd].
        Assert.Equal(new long[] { 16, 48 }, state["transformer.h.0.attn.c_attn.weight"].shape);
        Assert.Equal(new long[] { 16, 64 }, state["transformer.h.1.mlp.c_fc.weight"].shape);
        Assert.Equal(new long[] { 64, 16 }, state["transformer.h.1.mlp.c_proj.weight"].shape);
        Assert.Equal(new long[] { 97, 16 }, state["transformer.wte.weight"].shape);
    }

    [Fact]
    public void Conv1DEqualsLinearWithTransposedWeight()
    {
        torch.manual_seed(3);
        using var conv = new Conv1D(6, 10);
        using (no_grad()) conv.Bias.normal_();
        using var linear = nn.Linear(6, 10);
        using (no_grad())
        {
            linear.weight!.copy_(conv.Weight.t());
            linear.bias!.copy_(conv.Bias);
        }
        using var x = randn(2, 3, 6);
        using var a = conv.forward(x);
        using var b = linear.forward(x);
        Assert.Equal(new long[] { 2, 3, 10 }, a.shape);
        Assert.True(a.allclose(b, 1e-5, 1e-6));
    }

    [Fact]
    public void TiedHeadIsTheTokenEmbedding()
    {
        using var model = TinyDecoders.Gpt2Model(tied: true);
        using var scope = NewDisposeScope();
        var ids = TinyDecoders.Ids(4, 5, 6);
        var logits = model.forward(ids);
        var hidden = model.Transformer.forward(ids);
        Assert.Equal(new long[] { 1, 3, TinyDecoders.Vocab }, logits.shape);
        Assert.True(logits.allclose(hidden.matmul(model.Transformer.TokenEmbedding.weight!.t()), 1e-5, 1e-5));
    }

    [Fact]
    public void CachedStepsGiveTheLogitsOfTheFullSequence()
    {
        using var model = TinyDecoders.Gpt2Model();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var full = model.forward(TinyDecoders.Ids(3, 14, 15, 9, 2, 6));                       // (1, 6, V)
        using var cache = new KvCache(model.NumLayers);
        var first = model.forward(TinyDecoders.Ids(3, 14, 15, 9), cache: cache);              // prompt in one go
        var second = model.forward(TinyDecoders.Ids(2), cache: cache);                         // then one token at a time
        var third = model.forward(TinyDecoders.Ids(6), cache: cache);
        Assert.Equal(6, cache.Length);
        var stitched = cat(new[] { first, second, third }, 1);
        Assert.True(full.allclose(stitched, 1e-4, 1e-5));
    }

    [Fact]
    public void LeftPaddingDoesNotChangeTheRealTokensLogits()
    {
        using var model = TinyDecoders.Gpt2Model();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var alone = model.forward(TinyDecoders.Ids(7, 8, 9));
        var padded = model.forward(TinyDecoders.Ids(1, 1, 7, 8, 9), torch.tensor(new long[] { 0, 0, 1, 1, 1 }).unsqueeze(0));
        Assert.False(padded.isnan().any().item<bool>());
        Assert.True(alone.allclose(padded.narrow(1, 2, 3), 1e-4, 1e-5));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(200L)]   // bytes per shard: several shards
    public void SavedCheckpointReloadsStrictlyWithIdenticalLogits(long? shardBytes)
    {
        using var folder = new TempFolder();
        using var source = TinyDecoders.Gpt2Model(seed: 1);
        SafeTensorsCheckpoint.Save(folder.Path, source.state_dict(), shardBytes);
        using var target = TinyDecoders.Gpt2Model(seed: 2);
        StateDictLoader.Load(target, folder.Path, target.LoadOptions);
        using var scope = NewDisposeScope();
        var ids = TinyDecoders.Ids(3, 1, 4, 1, 5);
        Assert.True(source.forward(ids).eq(target.forward(ids)).all().item<bool>());
    }

    [Fact]
    public void LoadsCheckpointsWithoutPrefixWithMaskBuffersAndTiedHead()
    {
        // The layout of openai-community/gpt2's model.safetensors: no "transformer." prefix, attn.bias buffers,
        // and some exports also carry the tied lm_head.weight.
        using var folder = new TempFolder();
        using var source = TinyDecoders.Gpt2Model(seed: 1);
        var tensors = source.state_dict().Select(p => KeyValuePair.Create(p.Key["transformer.".Length..], p.Value)).ToList();
        using var causal = ones(1, 1, 64, 64).tril();
        tensors.Add(KeyValuePair.Create("h.0.attn.bias", causal));
        tensors.Add(KeyValuePair.Create("h.1.attn.bias", causal));
        tensors.Add(KeyValuePair.Create("lm_head.weight", (Tensor)source.Transformer.TokenEmbedding.weight!));
        SafeTensorsCheckpoint.Save(folder.Path, tensors);
        using var target = TinyDecoders.Gpt2Model(seed: 2);
        StateDictLoader.Load(target, folder.Path, target.LoadOptions);
        using var scope = NewDisposeScope();
        var ids = TinyDecoders.Ids(3, 1, 4);
        Assert.True(source.forward(ids).eq(target.forward(ids)).all().item<bool>());
    }

    [Fact]
    public void UntiedCheckpointWithoutHeadFailsNamingTheKey()
    {
        using var folder = new TempFolder();
        using var source = TinyDecoders.Gpt2Model(tied: true);
        SafeTensorsCheckpoint.Save(folder.Path, source.state_dict());
        using var target = TinyDecoders.Gpt2Model(tied: false);
        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(target, folder.Path, target.LoadOptions));
        TensorAssert.MessageNames(e, "lm_head.weight");
    }
}
