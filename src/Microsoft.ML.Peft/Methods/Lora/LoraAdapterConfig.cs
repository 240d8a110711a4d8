using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Core;

namespace Microsoft.ML.Peft.Methods.Lora;

/// <summary>
/// Reads and writes PEFT's <c>adapter_config.json</c> for LoRA with PEFT's field names, so Python PEFT
/// (<c>PeftModel.from_pretrained</c>) reads what we write and the reverse. On read, a field that switches on a LoRA
/// variant we do not implement is refused by name; other unknown fields are ignored.
/// </summary>
public static class LoraAdapterConfig
{
    /// <summary>The file name PEFT uses.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>The JSON document for <paramref name="options"/> (already resolved against a model).</summary>
    public static JsonObject ToJson(LoraOptions options)
    {
        var targets = options.TargetModules ?? new TargetModules();
        return new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = options.TaskType,
            ["base_model_name_or_path"] = options.BaseModelNameOrPath,
            ["revision"] = options.Revision,
            ["inference_mode"] = options.InferenceMode,
            ["r"] = options.Rank,
            ["lora_alpha"] = Number(options.Alpha),
            ["lora_dropout"] = options.Dropout,
            ["target_modules"] = targets.Pattern is string p ? JsonValue.Create(p) : StringArray(targets.Names),
            ["exclude_modules"] = StringArray(targets.ExcludeModules),
            ["layers_to_transform"] = targets.LayersToTransform is { } layers ? new JsonArray(layers.Select(i => (JsonNode)i).ToArray()) : null,
            ["layers_pattern"] = null,
            ["bias"] = options.Bias switch { LoraBias.All => "all", LoraBias.LoraOnly => "lora_only", _ => "none" },
            ["modules_to_save"] = options.ModulesToSave is { Count: > 0 } m ? StringArray(m) : null,
            ["use_rslora"] = options.UseRsLora,
            ["use_dora"] = options.UseDora,
            ["fan_in_fan_out"] = options.FanInFanOut,
            ["init_lora_weights"] = options.Init switch
            {
                LoraInit.Gaussian => JsonValue.Create("gaussian"),
                LoraInit.Pissa => JsonValue.Create("pissa"),
                _ => JsonValue.Create(true),
            },
            ["rank_pattern"] = new JsonObject(options.RankPattern.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["alpha_pattern"] = new JsonObject(options.AlphaPattern.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Number(kv.Value)))),
        };
    }

    /// <summary>Writes <see cref="FileName"/> into <paramref name="folder"/>.</summary>
    public static void Save(string folder, LoraOptions options) =>
        File.WriteAllText(Path.Combine(folder, FileName), ToJson(options).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Reads <see cref="FileName"/> from <paramref name="folder"/>.</summary>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="InvalidDataException">It is not a LoRA config, or uses a variant we do not implement (QALoRA, LoRA bias, ...).</exception>
    public static LoraOptions Load(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"No {FileName} in the adapter folder.", path);
        return FromJson(JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                        ?? throw new InvalidDataException($"{path} is not a JSON object."), path);
    }

    /// <summary>Options from a parsed config; <paramref name="source"/> names it in errors.</summary>
    public static LoraOptions FromJson(JsonObject json, string source = FileName)
    {
        string peftType = json["peft_type"]?.GetValue<string>() ?? "";
        if (peftType != "LORA") throw new InvalidDataException($"{source}: peft_type is '{peftType}', not 'LORA'.");
        RejectUnsupportedVariants(json, source);
        var init = json["init_lora_weights"];
        var initValue = init is JsonValue v && v.TryGetValue<string>(out var s) ? s : "true";
        if (initValue is not ("true" or "gaussian" or "pissa"))
            throw new InvalidDataException($"{source}: init_lora_weights '{initValue}' is not supported (it changes the base weights).");
        var targets = json["target_modules"];
        return new LoraOptions
        {
            Rank = json["r"]?.GetValue<int>() ?? 8,
            Alpha = json["lora_alpha"]?.GetValue<double>() ?? 8,
            Dropout = json["lora_dropout"]?.GetValue<double>() ?? 0,
            TargetModules = targets is null ? null : new TargetModules
            {
                Pattern = targets is JsonValue ? targets.GetValue<string>() : null,
                Names = targets is JsonArray ? Strings(targets) : null,
                ExcludeModules = json["exclude_modules"] is JsonArray ex ? Strings(ex) : null,
                LayersToTransform = json["layers_to_transform"] switch
                {
                    JsonArray a => a.Select(n => n!.GetValue<int>()).ToList(),
                    JsonValue one => new[] { one.GetValue<int>() },
                    _ => null,
                },
            },
            Bias = (json["bias"]?.GetValue<string>() ?? "none") switch
            {
                "none" => LoraBias.None, "all" => LoraBias.All, "lora_only" => LoraBias.LoraOnly,
                var other => throw new InvalidDataException($"{source}: bias '{other}' is not none, all or lora_only."),
            },
            Init = initValue switch { "gaussian" => LoraInit.Gaussian, "pissa" => LoraInit.Pissa, _ => LoraInit.Default },
            ModulesToSave = json["modules_to_save"] is JsonArray m ? Strings(m) : Array.Empty<string>(),
            UseRsLora = json["use_rslora"]?.GetValue<bool>() ?? false,
            UseDora = json["use_dora"]?.GetValue<bool>() ?? false,
            FanInFanOut = json["fan_in_fan_out"]?.GetValue<bool>() ?? false,
            TaskType = json["task_type"]?.GetValue<string>(),
            BaseModelNameOrPath = json["base_model_name_or_path"]?.GetValue<string>(),
            Revision = json["revision"]?.GetValue<string>(),
            InferenceMode = json["inference_mode"]?.GetValue<bool>() ?? false,
            RankPattern = (json["rank_pattern"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>()) ?? new(),
            AlphaPattern = (json["alpha_pattern"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>()) ?? new(),
        };
    }

    // Fields of newer PEFT versions that switch on a LoRA variant whose forward pass we do not implement. PEFT writes
    // them at their neutral values for plain LoRA: absent, null, false or empty, and for the *_config objects only null
    // (PEFT turns even {} into a config, which switches the variant on). Any other value would load without error and
    // compute something else, so it is refused. Initialisations that change the base weights (LoftQ, CorDA, LoRA-GA, ...)
    // are refused by the init_lora_weights check; VeLoRA is not listed, since it changes only the backward pass.
    static readonly string[] UnsupportedVariants =
    {
        "lora_bias", "layer_replication", "trainable_token_indices", "target_parameters", "alora_invocation_tokens",
        "arrow_config", "monteclora_config", "kasa_config",
    };

    // use_* switches we implement; any other use_* set to true (use_qalora, use_bdlora, and those of later versions)
    // is refused the same way.
    static readonly string[] SupportedSwitches = { "use_rslora", "use_dora" };

    static void RejectUnsupportedVariants(JsonObject json, string source)
    {
        var fields = UnsupportedVariants.Concat(json.Select(kv => kv.Key)
            .Where(k => k.StartsWith("use_", StringComparison.Ordinal) && !SupportedSwitches.Contains(k)));
        foreach (string field in fields)
        {
            var value = json[field];
            bool neutral = value switch
            {
                null => true,
                _ when field.EndsWith("_config", StringComparison.Ordinal) => false,
                JsonValue v when v.TryGetValue<bool>(out bool flag) => !flag,
                JsonArray a => a.Count == 0,
                JsonObject o => o.Count == 0,
                _ => false,
            };
            if (!neutral)
                throw new InvalidDataException(
                    $"{source}: {field} is {value!.ToJsonString()}; this LoRA variant is not supported, and loading the adapter without it would compute something else.");
        }
    }

    static JsonNode Number(double x) => x == Math.Floor(x) && Math.Abs(x) < 1e15 ? JsonValue.Create((long)x) : JsonValue.Create(x);

    static JsonArray? StringArray(IEnumerable<string>? values) =>
        values is null ? null : new JsonArray(values.Select(x => (JsonNode)JsonValue.Create(x)).ToArray());

    static List<string> Strings(JsonNode array) => array.AsArray().Select(n => n!.GetValue<string>()).ToList();
}
