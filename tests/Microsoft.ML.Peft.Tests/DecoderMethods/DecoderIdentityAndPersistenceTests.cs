using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.DecoderMethods;

/// <summary>Every method on GPT-2 and LLaMA: identity at initialisation where the method promises it, and save → load.</summary>
public sealed class DecoderIdentityAndPersistenceTests
{
    public static TheoryData<string, string> IdentityCases => DecoderCases.Matrix(DecoderCases.IdentityAtInit);

    // QLoRA is left out: its base is quantized at load, so it has its own round-trip tests.
    public static TheoryData<string, string> SavedCases => DecoderCases.Matrix(DecoderCases.AllMethods.Where(m => m != "qlora"));

    [Theory]
    [MemberData(nameof(IdentityCases))]
    public void Output_at_initialisation_equals_the_base_bit_for_bit(string method, string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var module = DecoderCases.Model(family);
        var model = (ICausalLM)module;
        var (ids, mask) = DecoderCases.Batch();
        var before = model.forward(ids, mask).clone();
        var peft = DecoderCases.Method(method).Apply(module);
        Assert.True(peft.TrainableParameters().Trainable > 0);
        Assert.True(DecoderCases.Same(before, model.forward(ids, mask)), $"{method}/{family}: the adapted model differs from the base at init");

        // Moved off its initial value the method acts, and disabling it gives the base back exactly.
        DecoderCases.Perturb(peft);
        Assert.False(DecoderCases.Same(before, model.forward(ids, mask)));
        using (peft.DisableAdapters()) Assert.True(DecoderCases.Same(before, model.forward(ids, mask)));
    }

    [Theory]
    [MemberData(nameof(SavedCases))]
    public void Save_then_load_gives_identical_logits(string method, string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var module = DecoderCases.ModelFor(method, family);
        torch.manual_seed(7);
        var peft = DecoderCases.Method(method).Apply(module);
        DecoderCases.Perturb(peft);
        module.eval();
        var (ids, mask) = DecoderCases.Batch();
        var expected = ((ICausalLM)module).forward(ids, mask);
        string folder = DecoderCases.TempFolder();
        try
        {
            peft.SaveAdapter(folder);
            var json = AdapterConfigFile.Read(folder);
            Assert.Equal(peft.PeftType, json["peft_type"]!.GetValue<string>());
            Assert.Equal("CAUSAL_LM", json["task_type"]!.GetValue<string>());

            var fresh = DecoderCases.ModelFor(method, family);
            var loaded = PeftMethods.Load(fresh, folder);
            Assert.Equal(peft.PeftType, loaded.PeftType);
            fresh.eval();
            var actual = ((ICausalLM)fresh).forward(ids, mask);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(DecoderCases.Same(expected, actual), $"{method}/{family}: logits differ after save and load");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static TheoryData<string, string> PromptCases => DecoderCases.Matrix(DecoderCases.PromptMethods);

    [Theory]
    [MemberData(nameof(PromptCases))]
    public void Prompt_methods_save_one_prompt_embeddings_tensor_with_peft_geometry(string method, string family)
    {
        using var scope = NewDisposeScope();
        var module = DecoderCases.Model(family);
        var peft = DecoderCases.Method(method).Apply(module);
        string folder = DecoderCases.TempFolder();
        try
        {
            peft.SaveAdapter(folder);
            using var file = SafeTensorsFile.Open(Path.Combine(folder, AdapterWeightsFile.FileName));
            Assert.Equal(new[] { "prompt_embeddings" }, file.Keys.ToArray());
            var json = AdapterConfigFile.Read(folder);
            bool prefix = method.StartsWith("prefix", StringComparison.Ordinal);
            // GPT-2: 16 wide, 4 heads of 4. LLaMA: hidden 32 with 4 query heads of 8; PEFT sizes a GQA prefix by its 2 kv heads.
            var (hidden, heads, kvHeads, headDim) = family == "gpt2" ? (16, 4, 4, 4) : (32, 4, 2, 8);
            int tokenDim = prefix ? kvHeads * headDim : hidden;
            Assert.Equal(tokenDim, json["token_dim"]!.GetValue<int>());
            Assert.Equal(prefix ? kvHeads : heads, json["num_attention_heads"]!.GetValue<int>());
            Assert.Equal(2, json["num_layers"]!.GetValue<int>());
            long width = prefix ? 2 * 2 * tokenDim : hidden;
            Assert.Equal(new long[] { prefix ? 3 : DecoderCases.VirtualTokens, width }, file.GetEntry("prompt_embeddings").Shape.ToArray());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_prefix_saved_for_another_geometry_is_refused_naming_the_field()
    {
        using var scope = NewDisposeScope();
        string folder = DecoderCases.TempFolder();
        try
        {
            DecoderCases.Method("prefix").Apply(DecoderCases.Model("llama")).SaveAdapter(folder);
            var e = Assert.Throws<InvalidDataException>(() => PeftMethods.Load(DecoderCases.Model("gpt2"), folder));
            Assert.Contains("num_attention_heads", e.Message);  // 2 kv heads saved, GPT-2 has 4
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
