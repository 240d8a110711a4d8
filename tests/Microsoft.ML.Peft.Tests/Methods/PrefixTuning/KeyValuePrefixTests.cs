using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.PrefixTuning;

/// <summary>Known answers for the attention hook that prefix tuning uses.</summary>
public class KeyValuePrefixTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_prefix_repeating_the_layers_own_keys_and_values_leaves_attention_unchanged(bool withMask)
    {
        // Softmax over [K; K] gives each value twice half the weight, so attention over [V; V] is attention over V.
        using var scope = NewDisposeScope();
        var attention = new BertSelfAttention(TinyBert.Config());
        attention.eval();
        var modules = attention.named_modules().ToDictionary(m => m.name, m => m.module);
        var hidden = randn(2, 5, 32);
        Tensor Heads(Tensor x) => x.view(2, 5, 4, 8).transpose(1, 2);  // (B, heads, T, head_dim)
        using var noGrad = no_grad();
        var k = Heads(((Linear)modules["key"]).forward(hidden));
        var v = Heads(((Linear)modules["value"]).forward(hidden));
        var mask = withMask ? ones(2, 1, 1, 5, dtype: ScalarType.Bool) : null;

        var plain = attention.forward(hidden, mask);
        var prefixed = attention.forward(hidden, mask, new KeyValuePrefix(k, v));
        Assert.Equal(plain.shape, prefixed.shape);  // (B, T, hidden): no extra query positions
        Assert.True((plain - prefixed).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Masked_keys_stay_masked_and_prefix_keys_are_always_open()
    {
        using var scope = NewDisposeScope();
        var attention = new BertSelfAttention(TinyBert.Config());
        attention.eval();
        var hidden = randn(1, 4, 32);
        var prefixKeys = randn(1, 4, 2, 8);
        var prefixValues = randn(1, 4, 2, 8);
        var mask = tensor(new[] { true, true, false, false }).view(1, 1, 1, 4);
        using var noGrad = no_grad();
        var masked = attention.forward(hidden, mask, new KeyValuePrefix(prefixKeys, prefixValues));
        // Changing the masked positions' states must not change the first two outputs.
        var changed = hidden.clone();
        changed[0, 2].add_(5.0);
        changed[0, 3].add_(-5.0);
        var again = attention.forward(changed, mask, new KeyValuePrefix(prefixKeys, prefixValues));
        Assert.True((masked.narrow(1, 0, 2) - again.narrow(1, 0, 2)).abs().max().item<float>() < 1e-6);
        // And the prefix is attended: other prefix values change the output.
        var other = attention.forward(hidden, mask, new KeyValuePrefix(prefixKeys, prefixValues + 1));
        Assert.False((masked - other).abs().max().item<float>() < 1e-3);
    }
}
