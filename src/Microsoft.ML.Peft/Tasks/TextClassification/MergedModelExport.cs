using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tasks.TextClassification;

/// <summary>
/// Writes a fine-tuned classifier as a plain Hugging Face folder: the adapter merged into a fresh fp32 copy of the
/// base classifier (the live model is left untouched), its state dict as <c>model.safetensors</c>, the base folder's
/// tokenizer files, and <c>config.json</c> with the labels and the architecture that reads them.
/// </summary>
internal static class MergedModelExport
{
    public static void Write(PretrainedModel baseModel, string adapterFolder, IReadOnlyList<string> classNames, string folder)
    {
        string peftType = PeftMethods.PeftTypeOf(adapterFolder);
        if (peftType is not ("LORA" or "IA3"))
            throw new NotSupportedException(
                $"A merged model can be exported for LoRA and IA3, whose updates fold into the weights; {peftType} adds modules or " +
                "inputs that a plain model does not have. Use ExportAdapter to save it in PEFT format instead.");

        using var model = baseModel.LoadSequenceClassifier(classNames.Count);
        var merged = PeftMethods.Load(model, adapterFolder) switch
        {
            LoraModel lora => lora.MergeAndUnload(),
            IA3Model ia3 => ia3.MergeAndUnload(),
            var other => throw new NotSupportedException($"{other.PeftType}: no merge is implemented."),
        };

        Directory.CreateDirectory(folder);
        foreach (string file in Directory.EnumerateFiles(baseModel.Directory))
        {
            string name = Path.GetFileName(file);
            bool isWeights = name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".safetensors.index.json", StringComparison.Ordinal)
                || name.EndsWith(".bin", StringComparison.Ordinal) || name == "config.json";
            if (!isWeights) File.Copy(file, Path.Combine(folder, name), overwrite: true);
        }
        File.WriteAllText(Path.Combine(folder, "config.json"), ClassifierConfig(baseModel, classNames));
        using var scope = NewDisposeScope();
        SafeTensorsCheckpoint.Save(folder, merged.state_dict().Select(p => KeyValuePair.Create(p.Key, p.Value.detach().contiguous())));
    }

    // transformers reads num_labels from id2label, and picks the head from architectures.
    static string ClassifierConfig(PretrainedModel baseModel, IReadOnlyList<string> classNames)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(baseModel.Directory, "config.json")))!.AsObject();
        config["architectures"] = new JsonArray(baseModel.Config.IsRoberta ? "RobertaForSequenceClassification" : "BertForSequenceClassification");
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (int i = 0; i < classNames.Count; i++)
        {
            id2label[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = classNames[i];
            label2id[classNames[i]] = i;
        }
        config["id2label"] = id2label;
        config["label2id"] = label2id;
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
