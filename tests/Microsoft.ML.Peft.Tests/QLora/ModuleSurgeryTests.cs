using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods.QLora;
using Microsoft.ML.Peft.Quantization;
using TorchSharp.Modules;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;
using static Microsoft.ML.Peft.Tests.QLora.QLoraTestModels;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.QLora;

public class ModuleSurgeryTests
{
    [Fact]
    public void Replacing_a_linear_by_a_linear_keeps_every_state_dict_key_in_order_and_forward_uses_the_new_one()
    {
        using var model = Classifier();
        var keys = model.state_dict().Keys.ToList();
        var modules = model.named_modules().Select(m => m.name).ToList();
        const string name = "bert.encoder.layer.0.attention.self.query";
        var replacement = nn.Linear(32, 32);
        using (no_grad()) replacement.weight!.zero_();
        using var ids = Ids();
        using var before = Logits(model, ids);

        var old = ModuleSurgery.ReplaceAt(model, name, replacement, disposeOld: true);

        Assert.Equal(keys, model.state_dict().Keys.ToList());
        Assert.Equal(modules, model.named_modules().Select(m => m.name).ToList());
        Assert.Same(replacement, ModuleSurgery.Find(model, name));
        using var after = Logits(model, ids);
        Assert.False(BitEqual(before, after));  // the parent's forward calls the new module
    }

    [Fact]
    public void Quantizing_keeps_the_original_keys_in_order_and_adds_only_the_quantization_state()
    {
        using var model = Classifier();
        var keys = model.state_dict().Keys.ToList();
        var modules = model.named_modules().Select(m => m.name).ToList();
        var names = BaseQuantizer.Quantize(model, Fp32);
        var quantizedKeys = model.state_dict().Keys.ToList();

        // Every original key survives with its name; modules keep their order. (TorchSharp's state_dict lists all
        // parameters before all buffers, so a weight that became a buffer moves within that listing.)
        Assert.Empty(keys.Except(quantizedKeys));
        Assert.Equal(modules, model.named_modules().Select(m => m.name).ToList());
        var added = quantizedKeys.Except(keys).ToList();
        Assert.All(added, k => Assert.Contains(names, n => k == $"{n}.absmax_codes" || k == $"{n}.absmax_scales" || k == $"{n}.absmax_mean"));
        Assert.Equal(names.Count * 3, added.Count);
        Assert.Equal(ScalarType.Byte, model.state_dict()["bert.encoder.layer.0.attention.self.query.weight"].dtype);
    }

    [Fact]
    public void A_field_typed_Linear_or_an_unknown_child_is_refused_with_a_clear_message()
    {
        using var model = Classifier();
        using var layer = Linear4bit.FromLinear((Linear)ModuleSurgery.Find(model, "classifier"), Fp32);
        var e = Assert.Throws<NotSupportedException>(() => ModuleSurgery.Replace(model, "classifier", layer));
        Assert.Contains("declared Linear", e.Message);
        Assert.IsType<Linear>(ModuleSurgery.Find(model, "classifier"));  // unchanged
        var missing = Assert.Throws<ArgumentException>(() => ModuleSurgery.Replace(model, "nope", layer));
        Assert.Contains("no child module 'nope'", missing.Message);
    }
}
