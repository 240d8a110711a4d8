using Microsoft.ML.Peft.Models.Common;
using TorchSharp;
using Microsoft.ML.Peft.Core;
using Microsoft.ML.Peft.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Lora;

/// <summary>
/// The LoRA adapters of one targeted <c>Linear</c>, GPT-2 <c>Conv1D</c> or 4-bit <see cref="Linear4bit"/>. The layer stays where it is (its keys, e.g.
/// <c>...query.weight</c>, do not change); the factors become its children <c>lora_A.{adapter}</c> (r, in) and
/// <c>lora_B.{adapter}</c> (out, r), and a forward hook on it adds <c>B(A(dropout(x))) * scaling</c> to its output.
/// A Conv1D stores W as (in, out) (PEFT's <c>fan_in_fan_out</c>), so merging adds <c>(B @ A)ᵀ</c> there. The base may
/// also be QLoRA's frozen <see cref="Linear4bit"/>: the factor shapes then come from its recorded features, and merging
/// into it is refused (QLoRA merges into a dequantized copy instead).
/// </summary>
/// <remarks>
/// Why a hook and not a wrapper module: TorchSharp's <c>Linear</c> is sealed and a wrapper would add a level to every
/// state-dict key. The models invoke their linear layers with <c>call()</c>, which runs hooks; autograd sees the
/// added term like any other op.
/// </remarks>
internal sealed class LoraLayer
{
    readonly AdapterModules<Linear> loraA = new(), loraB = new();
    readonly AdapterModules<FastDropoutLayer> dropouts = new();
    readonly AdapterModules<DoraMagnitude> magnitudes = new();
    readonly HashSet<string> doraAdapters = new();
    readonly Dictionary<string, Tensor> mergedNorms = new();  // DoRA: ||W + s·B A|| per output row at merge time
    readonly Dictionary<string, double> scalings = new();
    readonly HashSet<string> merged = new();
    readonly Action removeHook;

    public LoraLayer(string name, nn.Module<Tensor, Tensor> baseLayer)
    {
        Name = name;
        Base = baseLayer;
        FanInFanOut = LoraTargets.FanInFanOut(baseLayer);
        baseLayer.register_module("lora_A", loraA);
        baseLayer.register_module("lora_B", loraB);
        baseLayer.register_module("lora_dropout", dropouts);  // no parameters; registered so train()/eval() reach it
        baseLayer.register_module("lora_magnitude_vector", magnitudes);  // DoRA's m per adapter; empty without DoRA
        removeHook = baseLayer.register_forward_hook(AddLowRankTerm).remove;
    }

    /// <summary>Full dotted module name of the Linear, e.g. <c>bert.encoder.layer.0.attention.self.query</c>.</summary>
    public string Name { get; }

    /// <summary>The adapted layer.</summary>
    public nn.Module<Tensor, Tensor> Base { get; }

    /// <summary>Whether <see cref="Weight"/> is stored (in, out) (a Conv1D) rather than (out, in).</summary>
    public bool FanInFanOut { get; }

    /// <summary>
    /// The base weight merges write into: (out, in), or (in, out) when <see cref="FanInFanOut"/>; a 4-bit base
    /// (QLoRA) throws, since it has only NF4 codes.
    /// </summary>
    public Tensor Weight => LoraTargets.Weight(Base, Name);

    /// <summary>The base bias (out), or null.</summary>
    public Tensor? Bias => LoraTargets.Bias(Base);

    /// <summary>The adapter used by forward; null for none.</summary>
    public string? Active { get; set; }

    /// <summary>When true, forward is the base layer's (the disable scope).</summary>
    public bool Disabled { get; set; }

    public bool Has(string adapter) => scalings.ContainsKey(adapter);

    public bool IsMerged(string adapter) => merged.Contains(adapter);

    public Linear A(string adapter) => loraA[adapter];

    public Linear B(string adapter) => loraB[adapter];

    public double Scaling(string adapter) => scalings[adapter];

    /// <summary>Whether the adapter is DoRA (has a magnitude vector).</summary>
    public bool IsDora(string adapter) => doraAdapters.Contains(adapter);

    /// <summary>DoRA's magnitude vector m (out) of the adapter.</summary>
    public Parameter Magnitude(string adapter) => magnitudes[adapter].weight;

    /// <summary>
    /// Adds adapter factors initialised per <paramref name="init"/>: A random and B zero, so the output is unchanged;
    /// or PiSSA's principal factors with the residual written into the base weight (the output is unchanged up to rounding).
    /// </summary>
    public void Add(string adapter, int rank, double scaling, double dropout, LoraInit init, bool useDora = false)
    {
        var (outFeatures, inFeatures, device, dtype) = LoraTargets.Geometry(Base);
        if (init == LoraInit.Pissa && rank > Math.Min(outFeatures, inFeatures))
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"PiSSA rank {rank} exceeds min(out, in) = {Math.Min(outFeatures, inFeatures)} of '{Name}'.");
        var a = nn.Linear(inFeatures, rank, hasBias: false, device: device, dtype: dtype);  // weight (r, in)
        var b = nn.Linear(rank, outFeatures, hasBias: false, device: device, dtype: dtype); // weight (out, r)
        using (no_grad())
        {
            // In-place inits return their argument; it must not be disposed.
            if (init == LoraInit.Pissa) InitPissa(a.weight!, b.weight!, rank, scaling);
            else
            {
                if (init == LoraInit.Gaussian) nn.init.normal_(a.weight!, 0.0, 1.0 / rank);
                else nn.init.kaiming_uniform_(a.weight!, a: Math.Sqrt(5));
                nn.init.zeros_(b.weight!);
            }
        }
        Register(adapter, a, b, scaling, dropout);
        if (useDora) AddMagnitude(adapter);
    }

    /// <summary>
    /// DoRA (Liu et al., 2024): m = ||W + s·B A|| per output row (PEFT's column norm of Wᵀ), so the output is unchanged at init.
    /// </summary>
    void AddMagnitude(string adapter)
    {
        Tensor norm;
        using (no_grad()) norm = RowNorm(adapter);
        magnitudes.Add(adapter, new DoraMagnitude(norm));
        doraAdapters.Add(adapter);
        norm.Dispose();
    }

    /// <summary>||W + s·B A|| over the input dimension, one per output (out), without gradient (the paper's detached norm).</summary>
    Tensor RowNorm(string adapter)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weight = FanInFanOut ? Weight.t() : Weight;  // (out, in)
        var delta = loraB[adapter].weight!.matmul(loraA[adapter].weight!).mul(scalings[adapter]);
        return linalg.vector_norm(weight.add(delta), ord: 2, dims: new long[] { 1 }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Adds adapter factors with the given values: <paramref name="aWeight"/> (r, in) and <paramref name="bWeight"/> (out, r),
    /// copied (in the base's dtype and device).
    /// </summary>
    public void AddWithFactors(string adapter, Tensor aWeight, Tensor bWeight, double scaling, double dropout)
    {
        var (outFeatures, inFeatures, device, dtype) = LoraTargets.Geometry(Base);
        long rank = aWeight.shape[0];
        if (aWeight.shape[1] != inFeatures || bWeight.shape[0] != outFeatures || bWeight.shape[1] != rank)
            throw new ArgumentException($"Factor shapes A {string.Join('x', aWeight.shape)} and B {string.Join('x', bWeight.shape)} do not fit '{Name}' ({outFeatures} x {inFeatures}).");
        var a = nn.Linear(inFeatures, rank, hasBias: false, device: device, dtype: dtype);
        var b = nn.Linear(rank, outFeatures, hasBias: false, device: device, dtype: dtype);
        using (no_grad())
        {
            a.weight!.copy_(aWeight);
            b.weight!.copy_(bWeight);
        }
        Register(adapter, a, b, scaling, dropout);
    }

    /// <summary>
    /// PiSSA: W (out, in) = U S Vᵀ in fp32; A = sqrt(S_r / s) V_rᵀ, B = U_r sqrt(S_r / s), so s·B A is the rank-r principal
    /// part; W becomes W - s·B A (the residual), so the layer's output is unchanged.
    /// </summary>
    void InitPissa(Tensor aWeight, Tensor bWeight, int rank, double scaling)
    {
        using var scope = NewDisposeScope();
        var weight = Weight;
        var w = (FanInFanOut ? weight.t() : weight).to(ScalarType.Float32);  // (out, in)
        var (u, s, vh) = linalg.svd(w, fullMatrices: false);
        var root = s.narrow(0, 0, rank).div(scaling).sqrt();                  // (r)
        var a = root.unsqueeze(1).mul(vh.narrow(0, 0, rank));                   // (r, in)
        var b = u.narrow(1, 0, rank).mul(root.unsqueeze(0));                    // (out, r)
        aWeight.copy_(a);
        bWeight.copy_(b);
        // The residual from the factors as stored (their dtype), so W' + s·B A reproduces W as closely as it can.
        var principal = bWeight.to(ScalarType.Float32).matmul(aWeight.to(ScalarType.Float32)).mul(scaling);
        var residual = w.sub(principal);
        weight.copy_(FanInFanOut ? residual.t() : residual);
    }

    void Register(string adapter, Linear a, Linear b, double scaling, double dropout)
    {
        loraA.Add(adapter, a);
        loraB.Add(adapter, b);
        dropouts.Add(adapter, new FastDropoutLayer(dropout));
        scalings[adapter] = scaling;
    }

    /// <summary>Removes an adapter's factors (unmerging it first if it is merged).</summary>
    public void Remove(string adapter)
    {
        if (merged.Contains(adapter)) Unmerge(adapter);
        loraA.Remove(adapter);
        loraB.Remove(adapter);
        dropouts.Remove(adapter);
        if (doraAdapters.Remove(adapter)) magnitudes.Remove(adapter);
        scalings.Remove(adapter);
        if (Active == adapter) Active = null;
    }

    /// <summary>
    /// Moves the factors to the base weight's dtype and device when they differ. TorchSharp's <c>Linear</c> converts
    /// only its own weight and bias in <c>to()</c>, not its children, so <c>model.to(...)</c> leaves the factors
    /// behind; every use of them calls this first.
    /// </summary>
    public void FollowBase()
    {
        var (_, _, device, dtype) = LoraTargets.Geometry(Base);
        foreach (var adapter in scalings.Keys)
            foreach (var factor in new[] { loraA[adapter], loraB[adapter] })
            {
                // to() replaces (and disposes) the old parameter, so read the weight afresh after each.
                if (factor.weight!.dtype != dtype) factor.to(dtype);
                var p = factor.weight!;
                if (p.device_type != device.type || p.device_index != device.index) factor.to(device);
            }
        foreach (var adapter in doraAdapters)
            magnitudes[adapter].Follow(device, dtype);
    }

    /// <summary>
    /// <c>scaling * B @ A</c>: (out, r) @ (r, in) = (out, in), the update that merging adds to W; transposed to
    /// (in, out) for a Conv1D.
    /// </summary>
    public Tensor Delta(string adapter)
    {
        FollowBase();
        var delta = loraB[adapter].weight!.matmul(loraA[adapter].weight!).mul(scalings[adapter]);
        return FanInFanOut ? delta.t() : delta;
    }

    /// <summary>Whether W + delta would be finite everywhere (the safe-merge check, made before anything is written).</summary>
    public bool MergeIsFinite(string adapter)
    {
        using var scope = NewDisposeScope();
        using (no_grad()) return Weight.add(Delta(adapter)).isfinite().all().item<bool>();
    }

    /// <summary>W += scaling * B @ A; for DoRA W = m / ||W + s·B A|| * (W + s·B A), row by row.</summary>
    public void Merge(string adapter)
    {
        var weight = Weight;  // throws for a 4-bit base before anything is recorded
        if (!merged.Add(adapter)) return;
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            if (!doraAdapters.Contains(adapter)) { weight.add_(Delta(adapter)); return; }
            var norm = RowNorm(adapter);
            var rowScale = magnitudes[adapter].weight.div(norm);                       // (out)
            var combined = weight.add(Delta(adapter));
            weight.copy_(FanInFanOut ? combined.mul(rowScale.unsqueeze(0)) : combined.mul(rowScale.unsqueeze(1)));
            mergedNorms[adapter] = norm.MoveToOuterDisposeScope();
        }
    }

    /// <summary>W -= scaling * B @ A; for DoRA W = W' * ||W + s·B A|| / m - s·B A with the norm recorded at merge.</summary>
    public void Unmerge(string adapter)
    {
        if (!merged.Remove(adapter)) return;
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            if (!doraAdapters.Contains(adapter)) { Weight.sub_(Delta(adapter)); return; }
            var norm = mergedNorms[adapter];
            mergedNorms.Remove(adapter);
            var rowScale = norm.div(magnitudes[adapter].weight);
            var weight = Weight;
            var unscaled = FanInFanOut ? weight.mul(rowScale.unsqueeze(0)) : weight.mul(rowScale.unsqueeze(1));
            weight.copy_(unscaled.sub(Delta(adapter)));
            norm.Dispose();
        }
    }

    /// <summary>Removes the hook and every adapter child, leaving a plain layer (merged updates stay in W).</summary>
    public void Detach()
    {
        removeHook();
        foreach (var adapter in scalings.Keys.ToList()) { merged.Remove(adapter); Remove(adapter); }
        Base.register_module("lora_A", null!);  // TorchSharp unregisters a child given null
        Base.register_module("lora_B", null!);
        Base.register_module("lora_dropout", null!);
        Base.register_module("lora_magnitude_vector", null!);
        loraA.Dispose();
        loraB.Dispose();
        dropouts.Dispose();
        magnitudes.Dispose();
    }

    /// <summary>
    /// output + s · down Bᵀ as one <c>addmm</c> over the (B·T) rows: no separate (B, T, out) product to add, and in
    /// backward s scales inside the two small matmuls instead of a pass over the (B, T, out) gradient.
    /// </summary>
    /// <param name="output">W x + b, (…, out).</param>
    /// <param name="down">A x, (…, r).</param>
    /// <param name="up">B, (out, r).</param>
    /// <param name="scaling">s.</param>
    static Tensor AddScaledUpProjection(Tensor output, Tensor down, Tensor up, double scaling)
    {
        using var rows = output.reshape(-1, output.shape[^1]);
        using var downRows = down.reshape(-1, down.shape[^1]);
        using var upT = up.t();
        using var sum = rows.addmm(downRows, upT, 1f, (float)scaling);
        return sum.view(output.shape);
    }

    /// <summary>The forward hook: <paramref name="output"/> = W x + b (B, T, out); adds the active adapter's term.</summary>
    Tensor AddLowRankTerm(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        // Merged adapters are already inside W; a disabled model is the base model.
        if (Disabled || Active is not string adapter || !scalings.ContainsKey(adapter) || merged.Contains(adapter)) return output;
        FollowBase();
        using var scope = NewDisposeScope();
        // A 4-bit base computes in its compute dtype and returns the input's dtype; the factors keep theirs (cast to and fro).
        var x = dropouts[adapter].call(input).to(loraA[adapter].weight!.dtype);  // (B, T, in)
        var down = loraA[adapter].call(x);                                       // (B, T, r)
        bool isDora = doraAdapters.Contains(adapter);
        if (!isDora && down.dtype == output.dtype && loraB[adapter].bias is null && output.dim() >= 2)
            return AddScaledUpProjection(output, down, loraB[adapter].weight!, scalings[adapter]).MoveToOuterDisposeScope();
        var update = loraB[adapter].call(down);                                  // (B, T, out)
        if (!isDora)
            return output.add(update.to(output.dtype), alpha: scalings[adapter]).MoveToOuterDisposeScope();
        // DoRA: m / ||W + s·B A|| * (W x + s·B A x) + b, with the norm detached (PEFT, paper section 4.3).
        var rowScale = magnitudes[adapter].weight.div(RowNorm(adapter)).to(output.dtype);  // (out)
        var withoutBias = Bias is Tensor bias ? output.sub(bias) : output;
        var dora = withoutBias.add(update.to(output.dtype), alpha: scalings[adapter]).mul(rowScale);
        return (Bias is Tensor b ? dora.add(b) : dora).MoveToOuterDisposeScope();
    }
}

/// <summary>DoRA's trainable magnitude vector m (out) of one adapter; its key is <c>...lora_magnitude_vector.{adapter}.weight</c> as in PEFT.</summary>
internal sealed class DoraMagnitude : nn.Module
{
    Parameter _weight;

    public DoraMagnitude(Tensor initial) : base("DoraMagnitude")
    {
        _weight = new Parameter(initial.detach().clone());
        register_parameter("weight", _weight);
    }

    /// <summary>m (out).</summary>
    public Parameter weight => _weight;

    /// <summary>Moves m to the base's device and dtype (as <see cref="LoraLayer.FollowBase"/> does for the factors).</summary>
    public void Follow(Device device, ScalarType dtype)
    {
        if (_weight.dtype == dtype && _weight.device_type == device.type && _weight.device_index == device.index) return;
        bool requiresGrad = _weight.requires_grad;
        Tensor moved;
        using (no_grad()) moved = _weight.detach().to(dtype, device);
        _weight = new Parameter(moved, requiresGrad);
        register_parameter("weight", _weight);
    }
}
