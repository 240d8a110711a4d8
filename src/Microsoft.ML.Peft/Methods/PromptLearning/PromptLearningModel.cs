using System.Text.Json.Nodes;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Models;
using Microsoft.ML.Peft.Models.Bert;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.PromptLearning;

/// <summary>
/// The common part of prompt tuning, P-Tuning and prefix tuning: a <see cref="PromptModule"/> registered under the
/// model as <c>prompt_encoder.default</c> (PEFT's in-memory name) and set as the encoder's <see cref="BertModel.Prompt"/>
/// or the decoder's <c>Prompt</c> (<see cref="IDecoderPrompt"/>), so the model is called as before. Base weights are
/// frozen; the prompt module and the modules to save train.
/// </summary>
public abstract class PromptLearningModel : IPeftModel, IBertPrompt, IDecoderPrompt
{
    /// <summary>PEFT's key prefix of modules to save for prompt methods: the PeftModel's <c>base_model</c> is the model itself.</summary>
    public const string ModulesToSaveKeyPrefix = "base_model.";

    /// <summary>The key of the prompt in <c>adapter_model.safetensors</c>.</summary>
    public const string PromptEmbeddingsKey = "prompt_embeddings";

    readonly AdapterModules<PromptModule> container = new();
    readonly Dictionary<string, bool> originalRequiresGrad;
    bool unloaded;

    /// <summary>Injects <paramref name="prompt"/> into <paramref name="model"/> and freezes the rest.</summary>
    protected PromptLearningModel(nn.Module model, PromptLearningOptions options, PromptModule prompt, bool isPrefix)
    {
        options.Validate();
        Model = model;
        Target = PromptTarget.Of(model);
        if (Target.HasPrompt) throw new InvalidOperationException("The model already has a prompt method; unload it first.");
        IsPrefix = isPrefix;
        NumVirtualTokens = options.NumVirtualTokens;
        BaseModelNameOrPath = options.BaseModelNameOrPath;
        ModulesToSave = SavedModules.Resolve(model, options.ModulesToSave);
        originalRequiresGrad = ParameterFreezing.Snapshot(model);
        container.Add("default", prompt);
        model.register_module("prompt_encoder", container);
        Target.SetPrompt(this);
        var trainable = options.InferenceMode ? new HashSet<string>()
            : OwnParameters().Select(p => p.ModelKey).ToHashSet();
        ParameterFreezing.Apply(model, trainable.Contains);
    }

    /// <inheritdoc/>
    public abstract string PeftType { get; }

    /// <inheritdoc/>
    public nn.Module Model { get; }

    /// <summary>The BERT-family encoder the prompt acts on; null when it acts on a decoder.</summary>
    public BertModel? Encoder => Target.Encoder;

    /// <summary>The encoder or decoder the prompt acts on, with its geometry.</summary>
    internal PromptTarget Target { get; }

    /// <summary>The module that produces the prompt (<c>prompt_encoder.default</c>).</summary>
    public PromptModule Prompt => container["default"];

    /// <summary>Number of virtual tokens n (prompt length, or prefix length P).</summary>
    public int NumVirtualTokens { get; }

    /// <summary>True for prefix tuning: the prompt is per-layer keys/values, not input tokens.</summary>
    public bool IsPrefix { get; }

    /// <summary>Modules trained whole and saved with the prompt.</summary>
    public IReadOnlyList<string> ModulesToSave { get; }

    /// <summary>
    /// The BERT-family encoder of <paramref name="model"/>: itself, or a classifier's <see cref="ISequenceClassifier.Encoder"/>.
    /// Decoders have none; prompt methods reach them through their <c>Prompt</c> (<see cref="IDecoderPrompt"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">The model is not BERT-family.</exception>
    public static BertModel EncoderOf(nn.Module model) => model switch
    {
        BertModel bert => bert,
        ISequenceClassifier classifier => classifier.Encoder,
        _ => throw new NotSupportedException($"{model.GetType().Name} is not a BERT-family model (BertModel or a sequence classifier), so it has no encoder."),
    };

    /// <summary>(n, width) prompt embeddings as PEFT saves them (the encoder's output for P-Tuning and prefix projection).</summary>
    public Tensor PromptEmbeddings() => Prompt.Embeddings();

    /// <inheritdoc/>
    public Tensor? VirtualTokenEmbeddings(long batchSize)
    {
        if (IsPrefix) return null;
        var table = Prompt.Embeddings();                            // (n, hidden)
        return table.unsqueeze(0).expand(batchSize, -1, -1);        // (B, n, hidden)
    }

    /// <inheritdoc/>
    public IReadOnlyList<KeyValuePrefix>? KeyValuePrefixes(long batchSize) =>
        IsPrefix ? PrefixPairs(batchSize).Select(p => new KeyValuePrefix(p.Key, p.Value)).ToList() : null;

    /// <inheritdoc/>
    IReadOnlyList<(Tensor Key, Tensor Value)>? IDecoderPrompt.KeyValuePrefixes(long batchSize) => IsPrefix ? PrefixPairs(batchSize) : null;

    /// <summary>Per layer, the prefix keys and values, each (B, kv_heads, P, head_dim).</summary>
    (Tensor Key, Tensor Value)[] PrefixPairs(long batchSize)
    {
        int layers = Target.NumLayers;
        // (P, layers * 2 * token_dim) -> (P, layers * 2, kv_heads, head_dim) -> (layers * 2, kv_heads, P, head_dim).
        // Row 2i holds layer i's keys and row 2i + 1 its values: PEFT's past_key_values layout.
        var all = Prompt.Embeddings().view(NumVirtualTokens, layers * 2, Target.PrefixHeads, Target.PrefixHeadDim).permute(1, 2, 0, 3);
        var result = new (Tensor, Tensor)[layers];
        for (int i = 0; i < layers; i++)
            result[i] = (all[2 * i].unsqueeze(0).expand(batchSize, -1, -1, -1),      // (B, kv_heads, P, head_dim)
                         all[2 * i + 1].unsqueeze(0).expand(batchSize, -1, -1, -1));
        return result;
    }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> TrainableParameterList() => ParameterFreezing.TrainableParameters(Model);

    /// <inheritdoc/>
    public TrainableParameterCount TrainableParameters() => TrainableParameterCount.Of(Model);

    /// <inheritdoc/>
    public IDisposable DisableAdapters()
    {
        ThrowIfUnloaded();
        Target.SetPrompt(null);
        return new ActionScope(() => Target.SetPrompt(this));
    }

    /// <summary>Removes the prompt module and restores the model's <c>requires_grad</c> flags; this object is unusable afterwards.</summary>
    public nn.Module Unload()
    {
        ThrowIfUnloaded();
        Target.SetPrompt(null);
        Model.register_module("prompt_encoder", null!);  // TorchSharp unregisters a child given null
        container.Dispose();
        foreach (var (name, p) in Model.named_parameters()) p.requires_grad = originalRequiresGrad.GetValueOrDefault(name, true);
        unloaded = true;
        return Model;
    }

    /// <summary>
    /// Saves in PEFT's format: <c>adapter_model.safetensors</c> with one <c>prompt_embeddings</c> tensor (n, width) and
    /// the modules to save under <c>base_model.&lt;path&gt;</c>; <c>adapter_config.json</c> with the common fields and
    /// <see cref="MethodConfig"/>'s.
    /// </summary>
    public void SaveAdapter(string folder)
    {
        ThrowIfUnloaded();
        var (tokenDim, heads) = SavedGeometry(Target, IsPrefix);
        var json = new JsonObject
        {
            ["peft_type"] = PeftType,
            ["task_type"] = ModelArchitecture.TaskType(Model),
            ["base_model_name_or_path"] = BaseModelNameOrPath,
            ["revision"] = null,
            ["inference_mode"] = false,
            ["num_virtual_tokens"] = NumVirtualTokens,
            ["token_dim"] = tokenDim,
            ["num_transformer_submodules"] = 1,
            ["num_attention_heads"] = heads,
            ["num_layers"] = Target.NumLayers,
            ["modules_to_save"] = ModulesToSave.Count > 0 ? AdapterConfigFile.Strings(ModulesToSave) : null,
        };
        foreach (var (key, value) in MethodConfig()) json[key] = value;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        AdapterWeightsFile.Write(folder, OwnParameters().Where(p => p.FileKey != PromptEmbeddingsKey)
            .Select(p => (p.FileKey, (Tensor)p.Parameter))
            .Prepend((PromptEmbeddingsKey, PromptEmbeddings())));
        AdapterConfigFile.Write(folder, json);
    }

    /// <summary>Written to <c>base_model_name_or_path</c>.</summary>
    public string? BaseModelNameOrPath { get; }

    /// <summary>The method's own config fields (e.g. <c>prompt_tuning_init</c>, <c>encoder_hidden_size</c>).</summary>
    protected abstract IEnumerable<KeyValuePair<string, JsonNode?>> MethodConfig();

    /// <summary>Checks a saved config's architecture fields against <paramref name="model"/>.</summary>
    /// <exception cref="InvalidDataException">A config field or a key does not fit the model (named).</exception>
    protected static void CheckConfig(JsonObject json, nn.Module model, bool isPrefix = false)
    {
        var target = PromptTarget.Of(model);
        var (tokenDim, heads) = SavedGeometry(target, isPrefix);
        AdapterConfigFile.CheckMatches(json, "token_dim", tokenDim);
        AdapterConfigFile.CheckMatches(json, "num_layers", target.NumLayers);
        AdapterConfigFile.CheckMatches(json, "num_attention_heads", heads);
        AdapterConfigFile.CheckMatches(json, "num_transformer_submodules", 1);
    }

    /// <summary>
    /// <c>token_dim</c> and <c>num_attention_heads</c> as PEFT writes them: the hidden size and query heads, except for a
    /// prefix on grouped-query attention, which PEFT sizes by the key/value heads.
    /// </summary>
    static (int TokenDim, int Heads) SavedGeometry(PromptTarget target, bool isPrefix) =>
        isPrefix ? (target.PrefixTokenDim, target.PrefixHeads) : (target.HiddenSize, target.NumAttentionHeads);

    /// <summary>Reads the weights of a saved adapter into this model (the prompt table and the modules to save).</summary>
    protected void LoadWeights(string folder)
    {
        try
        {
            var expected = OwnParameters().Where(p => p.FileKey != PromptEmbeddingsKey)
                .ToDictionary(p => p.FileKey, p => (Tensor)p.Parameter);
            expected[PromptEmbeddingsKey] = ((PromptEmbedding)Prompt).Weight;
            AdapterWeightsFile.ReadInto(folder, expected);
        }
        catch
        {
            Unload();
            throw;
        }
    }

    /// <summary>Options of a saved config's common fields.</summary>
    protected static void ReadCommon(JsonObject json, PromptLearningOptions options, bool isTrainable)
    {
        options.NumVirtualTokens = AdapterConfigFile.RequiredInt(json, "num_virtual_tokens");
        options.ModulesToSave = AdapterConfigFile.ReadStrings(json["modules_to_save"]) ?? new List<string>();
        options.BaseModelNameOrPath = json["base_model_name_or_path"]?.GetValue<string>();
        options.InferenceMode = !isTrainable;
    }

    /// <summary>The prompt module's parameters and those of the modules to save, with model and file keys.</summary>
    IEnumerable<(string ModelKey, string FileKey, Parameter Parameter)> OwnParameters()
    {
        foreach (var (name, p) in Prompt.named_parameters()) yield return ($"prompt_encoder.default.{name}", PromptEmbeddingsKey, p);
        foreach (var (key, p) in SavedModules.Parameters(Model, ModulesToSave)) yield return (key, ModulesToSaveKeyPrefix + key, p);
    }

    void ThrowIfUnloaded()
    {
        if (unloaded) throw new InvalidOperationException("The prompt was unloaded from this model; apply the method again.");
    }
}
