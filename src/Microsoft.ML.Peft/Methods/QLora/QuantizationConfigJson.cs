using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Quantization;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.QLora;

/// <summary>
/// Records the base quantization of a QLoRA adapter as a <c>quantization_config</c> block in its
/// <c>adapter_config.json</c>. PEFT itself writes no such block (<c>peft_type</c> stays <c>LORA</c>; the quantization
/// belongs to the base model), so the block uses the field names of transformers' <c>BitsAndBytesConfig</c>, whose
/// NF4 layout (block 64, double-quantized absmax in blocks of 256) is the one we implement: a Python user can pass it
/// to <c>BitsAndBytesConfig(**cfg)</c> to quantize the base the same way. Our explicit block sizes are added as
/// <c>blocksize</c> and <c>double_quant_blocksize</c>. Python PEFT ignores the extra field; so does our LoRA reader.
/// </summary>
/// <example><code>
/// "quantization_config": { "quant_method": "bitsandbytes", "load_in_4bit": true, "bnb_4bit_quant_type": "nf4",
///   "bnb_4bit_use_double_quant": true, "bnb_4bit_compute_dtype": "bfloat16", "blocksize": 64, "double_quant_blocksize": 256 }
/// </code></example>
public static class QuantizationConfigJson
{
    /// <summary>The field of <c>adapter_config.json</c> holding the block.</summary>
    public const string FieldName = "quantization_config";

    /// <summary>The block for <paramref name="options"/>.</summary>
    public static JsonObject ToJson(QuantizationOptions options) => new()
    {
        ["quant_method"] = "bitsandbytes",
        ["load_in_4bit"] = true,
        ["bnb_4bit_quant_type"] = options.QuantType.ToLowerInvariant(),
        ["bnb_4bit_use_double_quant"] = options.DoubleQuant,
        ["bnb_4bit_compute_dtype"] = DTypeName(options.ComputeDType),
        ["blocksize"] = options.BlockSize,
        ["double_quant_blocksize"] = options.DoubleQuantBlockSize,
    };

    /// <summary>Options from a block; missing block sizes take bitsandbytes' 64 and 256.</summary>
    /// <exception cref="InvalidDataException">Not a 4-bit config, or an unknown compute dtype.</exception>
    public static QuantizationOptions FromJson(JsonObject json, string source = FieldName)
    {
        if (json["load_in_4bit"]?.GetValue<bool>() != true)
            throw new InvalidDataException($"{source}: only 4-bit base quantization (load_in_4bit: true) is supported.");
        string computeName = json["bnb_4bit_compute_dtype"]?.GetValue<string>() ?? "float32";
        var options = new QuantizationOptions
        {
            QuantType = json["bnb_4bit_quant_type"]?.GetValue<string>() ?? "fp4",  // bitsandbytes' default is fp4, which we refuse
            DoubleQuant = json["bnb_4bit_use_double_quant"]?.GetValue<bool>() ?? false,
            ComputeDType = computeName switch
            {
                "bfloat16" => ScalarType.BFloat16, "float16" => ScalarType.Float16, "float32" => ScalarType.Float32,
                _ => throw new InvalidDataException($"{source}: bnb_4bit_compute_dtype '{computeName}' is not bfloat16, float16 or float32."),
            },
            BlockSize = json["blocksize"]?.GetValue<int>() ?? 64,
            DoubleQuantBlockSize = json["double_quant_blocksize"]?.GetValue<int>() ?? 256,
        };
        options.Validate();
        return options;
    }

    /// <summary>Adds the block to the <c>adapter_config.json</c> already written in <paramref name="folder"/>.</summary>
    public static void AddTo(string folder, QuantizationOptions options)
    {
        var json = AdapterConfigFile.Read(folder);
        json[FieldName] = ToJson(options);
        AdapterConfigFile.Write(folder, json);
    }

    /// <summary>The quantization recorded in <paramref name="folder"/>'s <c>adapter_config.json</c>, or null for a plain LoRA adapter.</summary>
    public static QuantizationOptions? ReadFrom(string folder) =>
        AdapterConfigFile.Read(folder)[FieldName] is JsonObject block
            ? FromJson(block, $"{AdapterConfigFile.FileName}: {FieldName}")
            : null;

    static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => "float32",
    };
}
