using System.Text.Json;
using Microsoft.ML.Peft.Checkpoints;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Methods;
using Microsoft.ML.Peft.Methods.IA3;
using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Methods.PrefixTuning;
using Microsoft.ML.Peft.Methods.PromptTuning;
using Microsoft.ML.Peft.Methods.PTuning;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Tests.Decoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.FixtureWriter;

/// <summary>
/// Our side of the "to_peft" interchange fixtures. For each case: base/ (a tiny random decoder saved as a Hugging Face
/// folder by our code), adapter/ (a method applied by our code, every trainable parameter moved off its initial value,
/// saved in PEFT's format), ours.safetensors (input_ids, attention_mask, position_ids on the padded batch, and our
/// float32 logits) and case.json. make_peft_reference.py --ours FOLDER then loads each with transformers +
/// PeftModel.from_pretrained and records PEFT's logits, which PeftInterchangeTests compares with ours.
/// </summary>
internal static class PeftCases
{
    public static void Write(string root)
    {
        // Tuner methods (LoRA, IA3) run on a left-padded batch with explicit positions; prompt-learning methods on full rows,
        // so that no padding convention for the virtual tokens is involved.
        var cases = new (string Name, string Family, IPeftMethodOptions Method, bool Padded)[]
        {
            ("gpt2_lora", "gpt2", new LoraOptions { Rank = 4, Alpha = 8 }, true),
            ("llama_lora_all_linear", "llama", new LoraOptions { Rank = 4, Alpha = 8, TargetModules = TargetModules.Regex(TargetModules.AllLinear) }, true),
            ("gpt2_ia3", "gpt2", new IA3Options(), true),
            ("llama_ia3", "llama", new IA3Options(), true),
            ("gpt2_prompt", "gpt2", new PromptTuningOptions { NumVirtualTokens = 4 }, false),
            ("llama_prompt", "llama", new PromptTuningOptions { NumVirtualTokens = 4 }, false),
            ("gpt2_prefix", "gpt2", new PrefixTuningOptions { NumVirtualTokens = 3 }, false),
            ("llama_prefix", "llama", new PrefixTuningOptions { NumVirtualTokens = 3 }, false),
            ("gpt2_ptuning", "gpt2", new PTuningOptions { NumVirtualTokens = 4, EncoderHiddenSize = 8 }, false),
        };

        foreach (var (name, family, method, padded) in cases)
        {
            using var scope = NewDisposeScope();
            string folder = Path.Combine(root, name);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);   // only the cases this program writes
            var (module, configJson, tied) = NewBase(family);
            SaveBase(Path.Combine(folder, "base"), module, configJson, tied);

            var peft = method.Apply(module);
            torch.manual_seed(3);
            using (no_grad())
                foreach (var p in peft.TrainableParameterList()) p.add_(torch.randn_like(p) * 0.3);
            module.eval();
            peft.SaveAdapter(Path.Combine(folder, "adapter"));

            var tensors = Batch(padded);
            using (no_grad())
                tensors["logits"] = ((ICausalLM)module).forward(tensors["input_ids"], tensors["attention_mask"], tensors.GetValueOrDefault("position_ids"))
                    .to(ScalarType.Float32);
            SafeTensorsWriter.Write(Path.Combine(folder, "ours.safetensors"), tensors);
            File.WriteAllText(Path.Combine(folder, "case.json"), JsonSerializer.Serialize(new { name, family, peft_type = peft.PeftType, padded }));
            Console.WriteLine($"{name}: {peft.PeftType}, logits [{string.Join(", ", tensors["logits"].shape)}]");
        }
    }

    // The decoder-method tests' tiny random models, in evaluation mode: GPT-2 (tied head) or LLaMA with grouped-query
    // attention (untied head), with the config.json that describes them.
    static (nn.Module Module, string ConfigJson, bool Tied) NewBase(string family)
    {
        if (family == "gpt2")
        {
            var gpt2 = TinyDecoders.Gpt2Model();
            return (gpt2, gpt2.Config.ToJson(), gpt2.Config.TieWordEmbeddings);
        }
        var llama = TinyDecoders.LlamaModel(TinyDecoders.Llama());
        return (llama, llama.Config.ToJson(), llama.Config.TieWordEmbeddings);
    }

    // config.json and model.safetensors as transformers would save them: a tied head is left out of the file.
    static void SaveBase(string folder, nn.Module module, string configJson, bool tied)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), configJson);
        SafeTensorsCheckpoint.Save(folder, module.state_dict().Where(p => !(tied && p.Key.StartsWith("lm_head.", StringComparison.Ordinal))));
    }

    // (B, 8) int64 ids and 0/1 mask; on the padded batch also positions counting real tokens only (padded slots 1).
    static Dictionary<string, Tensor> Batch(bool padded)
    {
        long[,] rows = padded
            ? new long[,] { { 17, 42, 8, 96, 23, 5, 61, 30 }, { 0, 0, 0, 11, 77, 3, 54, 90 }, { 0, 0, 0, 0, 0, 64, 12, 38 } }
            : new long[,] { { 17, 42, 8, 96, 23, 5, 61, 30 }, { 11, 77, 3, 54, 90, 64, 12, 38 } };
        var ids = tensor(rows);
        var mask = padded ? ids.ne(0).to(ScalarType.Int64) : ones_like(ids);
        var tensors = new Dictionary<string, Tensor> { ["input_ids"] = ids, ["attention_mask"] = mask };
        if (padded) tensors["position_ids"] = (mask.cumsum(-1) - 1).masked_fill(mask.eq(0), 1);
        return tensors;
    }
}
