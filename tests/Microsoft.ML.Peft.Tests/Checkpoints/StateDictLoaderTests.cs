using Microsoft.ML.Peft.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Checkpoints;

public class StateDictLoaderTests
{
    /// <summary>Keys: emb.weight, lin.weight, lin.bias, norm.weight, norm.bias.</summary>
    static nn.Module Small(int seed)
    {
        manual_seed(seed);
        return nn.Sequential(("emb", nn.Embedding(10, 4)), ("lin", nn.Linear(4, 3)), ("norm", nn.LayerNorm(3)));
    }

    static Dictionary<string, Tensor> StateOf(nn.Module module) => module.state_dict();

    static string SaveSmall(TempFolder folder, Action<Dictionary<string, Tensor>>? edit = null)
    {
        using var source = Small(1);
        var state = new Dictionary<string, Tensor>(StateOf(source));
        using (no_grad()) state["norm.weight"].uniform_(0.5, 1.5); // LayerNorm starts at ones: make it distinguishable
        edit?.Invoke(state);
        SafeTensorsCheckpoint.Save(folder.Path, state);
        return folder.File(SafeTensorsCheckpoint.SingleFileName);
    }

    [Fact]
    public void StrictLoadMakesTheModuleEqualToTheSource()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        using var source = Small(1);
        using (no_grad()) source.state_dict()["norm.weight"].uniform_(0.5, 1.5);
        SafeTensorsCheckpoint.Save(folder.Path, source.state_dict(), maxShardBytes: 100); // sharded, too

        using var target = Small(2);
        var report = StateDictLoader.Load(target, folder.Path);

        Assert.Equal(5, report.LoadedKeys.Count);
        Assert.Empty(report.FreshKeys);
        Assert.Empty(report.IgnoredKeys);
        foreach (var (name, expected) in source.state_dict()) TensorAssert.BitEqual(expected, target.state_dict()[name], name);
        Assert.All(target.parameters(), p => Assert.True(p.requires_grad)); // still trainable
    }

    [Fact]
    public void MissingAndUnexpectedKeysAreAllListedInOneException()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = SaveSmall(folder, state =>
        {
            state.Remove("lin.bias");
            state.Remove("norm.bias");
            state["extra.weight"] = ones(2);
        });
        using var target = Small(2);
        var before = target.state_dict()["lin.weight"].clone();

        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(target, folder.Path));
        TensorAssert.MessageNames(e, path, "missing keys (2)", "lin.bias", "norm.bias", "unexpected keys (1)", "extra.weight");
        Assert.Equal(new[] { "lin.bias", "norm.bias" }, e.MissingKeys);
        Assert.Equal(new[] { "extra.weight" }, e.UnexpectedKeys);
        Assert.Equal(path, e.FilePath);
        TensorAssert.BitEqual(before, target.state_dict()["lin.weight"]); // nothing was loaded
    }

    [Fact]
    public void ShapeMismatchNamesFileKeyExpectedAndFound()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = SaveSmall(folder, state => state["lin.weight"] = zeros(3, 5));
        using var target = Small(2);

        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(target, folder.Path));
        TensorAssert.MessageNames(e, "shape mismatch", path, "'lin.weight'", "expected [3, 4]", "found [3, 5]");
        Assert.Equal((path, "lin.weight"), (e.FilePath, e.Key));
    }

    [Fact]
    public void IntegerTensorWhereAFloatWeightIsExpectedIsADTypeMismatch()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        string path = SaveSmall(folder, state => state["emb.weight"] = zeros(new long[] { 10, 4 }, dtype: ScalarType.Int64));
        using var target = Small(2);

        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(target, folder.Path));
        TensorAssert.MessageNames(e, "dtype mismatch", path, "'emb.weight'", "expected F32", "found I64");
        Assert.Equal((path, "emb.weight"), (e.FilePath, e.Key));
    }

    [Fact]
    public void HalfPrecisionCheckpointLoadsIntoFloatModule()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        Dictionary<string, Tensor>? saved = null;
        SaveSmall(folder, state =>
        {
            foreach (string key in state.Keys.ToList()) state[key] = state[key].to(ScalarType.BFloat16);
            saved = state;
        });
        using var target = Small(2);
        StateDictLoader.Load(target, folder.Path);
        foreach (var (name, value) in saved!) TensorAssert.BitEqual(value.to(ScalarType.Float32), target.state_dict()[name], name);
    }

    /// <summary>A base-model checkpoint (keys embeddings.*, encoder.*, pooler.*) into a model with a bert. prefix and a new head.</summary>
    [Fact]
    public void BaseModelCheckpointLoadsUnderAPrefixWithAFreshHead()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        manual_seed(3);
        using var baseModel = nn.Sequential(("embeddings", nn.Embedding(10, 4)), ("encoder", nn.Linear(4, 4)), ("pooler", nn.Linear(4, 4)));
        SafeTensorsCheckpoint.Save(folder.Path, baseModel.state_dict());

        using var classifier = nn.Sequential(
            ("bert", nn.Sequential(("embeddings", nn.Embedding(10, 4)), ("encoder", nn.Linear(4, 4)), ("pooler", nn.Linear(4, 4)))),
            ("classifier", nn.Linear(4, 2)));
        var head = classifier.state_dict()["classifier.weight"].clone();

        // Strict without allowing the head: the head is reported missing, by name.
        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(classifier, folder.Path));
        TensorAssert.MessageNames(e, "classifier.weight", "classifier.bias", "'bert.'");

        var report = StateDictLoader.Load(classifier, folder.Path, new StateDictLoadOptions { AllowMissing = ["classifier."] });
        Assert.Equal("bert.", report.AddedPrefix);
        Assert.Equal(new[] { "classifier.weight", "classifier.bias" }, report.FreshKeys);
        Assert.Equal(5, report.LoadedKeys.Count);
        TensorAssert.BitEqual(baseModel.state_dict()["encoder.weight"], classifier.state_dict()["bert.encoder.weight"]);
        TensorAssert.BitEqual(head, classifier.state_dict()["classifier.weight"]);

        // And the other way: a prefixed checkpoint with a pre-training head into the bare base model.
        SafeTensorsCheckpoint.Save(folder.Path, classifier.state_dict());
        using var bare = nn.Sequential(("embeddings", nn.Embedding(10, 4)), ("encoder", nn.Linear(4, 4)), ("pooler", nn.Linear(4, 4)));
        report = StateDictLoader.Load(bare, folder.Path, new StateDictLoadOptions { IgnoreUnexpected = ["classifier."] });
        Assert.Equal("bert.", report.RemovedPrefix);
        Assert.Equal(new[] { "classifier.weight", "classifier.bias" }, report.IgnoredKeys.Order().Reverse());
        TensorAssert.BitEqual(baseModel.state_dict()["pooler.bias"], bare.state_dict()["pooler.bias"]);
    }

    [Fact]
    public void KeyMapperRenamesAndSkips()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        SaveSmall(folder, state =>
        {
            state["norm.gamma"] = state["norm.weight"];
            state.Remove("norm.weight");
            state["junk"] = ones(1);
        });
        using var target = Small(2);
        var report = StateDictLoader.Load(target, folder.Path, new StateDictLoadOptions
        {
            KeyMapper = key => key == "junk" ? null : key.Replace(".gamma", ".weight"),
        });
        Assert.Contains("norm.weight", report.LoadedKeys);
        Assert.Equal(new[] { "junk" }, report.IgnoredKeys);
    }

    [Fact]
    public void NonStrictLoadReportsInsteadOfThrowing()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        SaveSmall(folder, state => { state.Remove("lin.bias"); state["extra"] = ones(1); });
        using var target = Small(2);
        var report = StateDictLoader.Load(target, folder.Path, new StateDictLoadOptions { Strict = false });
        Assert.Equal(new[] { "lin.bias" }, report.FreshKeys);
        Assert.Equal(new[] { "extra" }, report.IgnoredKeys);
        Assert.Equal(4, report.LoadedKeys.Count);
    }
}
