using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Models.Bert;
using Microsoft.ML.Peft.Tests.Checkpoints;
using Microsoft.ML.Peft.Tests.MLNet;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.TextClassification;

/// <summary>The fitted classifier exports its adapter in PEFT format and, for LoRA, a merged Hugging Face model.</summary>
public class ExportTests(TinyClassifierFixture fixture) : IClassFixture<TinyClassifierFixture>
{
    static readonly string[] Texts = ["w10 w61 w12", "w20 w21 w65 w22", "w30 w33", ""];

    float[][] TransformerScores()
    {
        var ml = new MLContext(seed: 1);
        var rows = Texts.Select(t => new TextRow { Text = t });
        return ml.Data.CreateEnumerable<ScoredRow>(fixture.Fitted.Chain.Transform(ml.Data.LoadFromEnumerable(rows)), reuseRowObject: false)
            .Select(r => r.Score).ToArray();
    }

    float[][] ModelScores(PretrainedModel tokenizerSource, nn.Module model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.eval();
        var (ids, mask, types) = tokenizerSource.Tokenizer.EncodeBatch(Texts, null, fixture.Fitted.Classifier.MaxLength).ToTensors();
        var probabilities = nn.functional.softmax(((ISequenceClassifier)model).Logits(ids, mask, types), -1);
        var flat = probabilities.data<float>().ToArray();
        return Enumerable.Range(0, Texts.Length).Select(i => flat[(i * 3)..(i * 3 + 3)]).ToArray();
    }

    [Fact]
    public void An_exported_adapter_reloads_with_PeftMethods_Load_and_scores_identically()
    {
        using var folder = new TempFolder();
        fixture.Fitted.Classifier.ExportAdapter(folder.Path);
        Assert.Equal(["adapter_config.json", "adapter_model.safetensors"], folder.FileNames());
        Assert.Equal("LORA", PeftMethods.PeftTypeOf(folder.Path));

        using var model = fixture.Model.LoadSequenceClassifier(3);
        PeftMethods.Load(model, folder.Path);
        var expected = TransformerScores();
        var actual = ModelScores(fixture.Model, model);
        for (int i = 0; i < Texts.Length; i++)
            Assert.Equal(expected[i], actual[i], (a, b) => Math.Abs(a - b) < 1e-6f);
    }

    [Fact]
    public void A_merged_LoRA_model_is_a_plain_Hugging_Face_classifier_with_the_same_scores()
    {
        using var folder = new TempFolder();
        fixture.Fitted.Classifier.ExportMergedModel(folder.Path);

        var config = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!;
        Assert.Equal("BertForSequenceClassification", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal("beta", config["id2label"]!["1"]!.GetValue<string>());
        Assert.True(File.Exists(folder.File("vocab.txt")));

        var merged = PretrainedModel.FromDirectory(folder.Path);
        using var model = merged.LoadSequenceClassifier(3);
        Assert.DoesNotContain(model.named_parameters(), p => p.name.Contains("lora_", StringComparison.Ordinal));
        var expected = TransformerScores();
        var actual = ModelScores(merged, model);
        for (int i = 0; i < Texts.Length; i++)
            Assert.Equal(expected[i], actual[i], (a, b) => Math.Abs(a - b) < 1e-4f);
    }

    [Fact]
    public void Methods_that_cannot_merge_say_so()
    {
        var options = TinyClassifierFixture.Options(new PromptTuningOptions { NumVirtualTokens = 2 }, epochs: 1);
        var (_, classifier) = TinyClassifierFixture.Fit(new MLContext(seed: 1), fixture.Model, options, rows: 9);
        using (classifier)
        using (var folder = new TempFolder())
        {
            var e = Assert.Throws<NotSupportedException>(() => classifier.ExportMergedModel(folder.Path));
            Assert.Contains("PROMPT_TUNING", e.Message);
            Assert.Contains("ExportAdapter", e.Message);
        }
    }
}
