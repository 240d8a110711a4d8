using Microsoft.ML.Peft.Core;
using static Microsoft.ML.Peft.Tests.Methods.Lora.LoraTestModels;

namespace Microsoft.ML.Peft.Tests.Core;

public class TargetModuleMatcherTests
{
    static List<string> Selected(string modelType, TargetModules targets) =>
        TargetModuleMatcher.Select(Classifier(modelType), targets).Select(t => t.Name).ToList();

    [Theory]
    [InlineData("encoder.layer.0.attention.self.query", "query", true)]
    [InlineData("query", "query", true)]
    [InlineData("encoder.layer.0.attention.self.query", "self.query", true)]
    [InlineData("encoder.layer.0.attention.self.query", "uery", false)]      // a suffix must start at a dot
    [InlineData("encoder.layer.0.attention.self.query_proj", "query", false)]
    public void List_entries_match_the_whole_name_or_a_dotted_suffix(string name, string entry, bool expected) =>
        Assert.Equal(expected, TargetModuleMatcher.MatchesEntry(name, entry));

    [Fact]
    public void A_string_is_a_full_match_regex()
    {
        Assert.Equal(new[] { "bert.encoder.layer.1.attention.self.query" },
                     Selected("bert", TargetModules.Regex(@".*layer\.1\..*query")));
        // "query" alone as a regex matches no full name (unlike as a list entry).
        Assert.Throws<ArgumentException>(() => Selected("bert", TargetModules.Regex("query")));
        Assert.Equal(4, Selected("bert", TargetModules.Regex(@".*\.(query|value)")).Count);
    }

    [Theory]
    [InlineData("bert", 2 * 6 + 1)]     // per layer q, k, v, attention.output.dense, intermediate.dense, output.dense; the pooler
    [InlineData("roberta", 2 * 6)]      // no pooler; classifier.dense and out_proj are the head
    public void All_linear_takes_every_linear_but_the_classifier(string modelType, int expected)
    {
        var names = Selected(modelType, TargetModules.Regex(TargetModules.AllLinear));
        Assert.Equal(expected, names.Count);
        Assert.DoesNotContain(names, n => n.StartsWith("classifier", StringComparison.Ordinal));
    }

    [Fact]
    public void Layers_to_transform_and_exclude_modules_narrow_the_selection()
    {
        Assert.Equal(new[] { "bert.encoder.layer.1.attention.self.query", "bert.encoder.layer.1.attention.self.value" },
                     Selected("bert", new TargetModules { Names = new[] { "query", "value" }, LayersToTransform = new[] { 1 } }));
        Assert.Equal(new[] { "bert.encoder.layer.0.attention.self.value", "bert.encoder.layer.1.attention.self.value" },
                     Selected("bert", new TargetModules { Names = new[] { "query", "value" }, ExcludeModules = new[] { "query" } }));
        Assert.Equal(3, TargetModuleMatcher.LayerIndex("model.layers.3.self_attn.q_proj"));
        Assert.Equal(11, TargetModuleMatcher.LayerIndex("transformer.h.11.attn.c_attn"));
        Assert.Null(TargetModuleMatcher.LayerIndex("bert.pooler.dense"));
    }

    [Fact]
    public void Matching_nothing_lists_the_candidate_linear_modules()
    {
        var e = Assert.Throws<ArgumentException>(() => Selected("bert", TargetModules.Of("q_proj", "v_proj")));
        Assert.Contains("[q_proj, v_proj]", e.Message);
        Assert.Contains("bert.encoder.layer.0.attention.self.query", e.Message);
        Assert.Contains("bert.pooler.dense", e.Message);
        Assert.Contains("classifier", e.Message);
    }

    [Theory]
    [InlineData("bert", "query,value")]
    [InlineData("roberta", "query,value")]
    [InlineData("gpt2", "c_attn")]
    [InlineData("llama", "q_proj,v_proj")]
    public void Per_architecture_defaults(string modelType, string expected) =>
        Assert.Equal(expected, string.Join(",", TargetModuleMatcher.DefaultLoraTargets(modelType)));
}
