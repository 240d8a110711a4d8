using System.Text.RegularExpressions;
using Microsoft.ML.Peft.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Methods.Lora;

public sealed partial class LoraModel
{
    /// <summary>
    /// Adds a new adapter <paramref name="newName"/> that combines existing ones with the given weights (PEFT's
    /// <c>add_weighted_adapter</c>); it is not made active. Its scaling is 1 (<c>lora_alpha = r</c>) and the
    /// adapters' scalings are folded into the factors.
    /// </summary>
    /// <remarks>
    /// <para><see cref="CombinationType.Cat"/>: A stacks the rows wᵢ·sᵢ·Aᵢ and B the columns Bᵢ, so the rank is Σ rᵢ and
    /// the delta is exactly Σ wᵢ·sᵢ·Bᵢ Aᵢ.</para>
    /// <para><see cref="CombinationType.Linear"/>: the adapters must share their rank; A = Σ sign(wᵢ)·sqrt(|wᵢ|·sᵢ)·Aᵢ and
    /// B = Σ sqrt(|wᵢ|·sᵢ)·Bᵢ. The delta is Σ wᵢ·sᵢ·Bᵢ Aᵢ plus the cross terms Bᵢ Aⱼ (i ≠ j), as in PEFT: exact for one
    /// adapter, an approximation otherwise.</para>
    /// <para>The new adapter adapts every module any of the inputs adapts (an input absent from a module contributes
    /// nothing there); where the rank differs between modules it is recorded in <see cref="LoraOptions.RankPattern"/>.
    /// Other options (dropout, bias, modules to save, task) are the first adapter's. Merged inputs are combined from their
    /// factors just the same.</para>
    /// </remarks>
    /// <param name="adapterNames">Existing adapters to combine (at least one, no repeats).</param>
    /// <param name="weights">One weight per adapter (finite).</param>
    /// <param name="newName">Name of the new adapter.</param>
    /// <param name="type">How to combine.</param>
    /// <exception cref="ArgumentException">An unknown adapter, a count mismatch, a non-finite weight, a taken or invalid
    /// new name, or (for <see cref="CombinationType.Linear"/>) adapters of different ranks.</exception>
    public void AddWeightedAdapter(IReadOnlyList<string> adapterNames, IReadOnlyList<double> weights, string newName, CombinationType type)
    {
        ThrowIfUnloaded();
        ArgumentNullException.ThrowIfNull(adapterNames);
        ArgumentNullException.ThrowIfNull(weights);
        if (adapterNames.Count == 0) throw new ArgumentException("Give at least one adapter to combine.", nameof(adapterNames));
        if (weights.Count != adapterNames.Count)
            throw new ArgumentException($"{weights.Count} weights for {adapterNames.Count} adapters; give one weight per adapter.", nameof(weights));
        foreach (var name in adapterNames) Check(name);
        if (adapterNames.Distinct().Count() != adapterNames.Count)
            throw new ArgumentException($"Adapters repeat: {string.Join(", ", adapterNames)}.", nameof(adapterNames));
        if (weights.Any(w => !double.IsFinite(w))) throw new ArgumentException("Weights must be finite.", nameof(weights));
        if (string.IsNullOrWhiteSpace(newName) || newName.Contains('.'))
            throw new ArgumentException($"Adapter name '{newName}' must be non-empty and contain no dot.", nameof(newName));
        if (adapters.ContainsKey(newName)) throw new ArgumentException($"An adapter named '{newName}' already exists.", nameof(newName));

        if (adapterNames.FirstOrDefault(n => adapters[n].UseDora) is string dora)
            throw new ArgumentException($"Adapter '{dora}' is DoRA; weighted combinations of DoRA adapters are not supported (as in PEFT).", nameof(adapterNames));
        var involved = layers.Values.Where(l => adapterNames.Any(l.Has)).ToList();
        if (type == CombinationType.Linear)
            foreach (var layer in involved)
            {
                var ranks = adapterNames.Where(layer.Has).Select(n => layer.A(n).weight!.shape[0]).Distinct().ToList();
                if (ranks.Count > 1)
                    throw new ArgumentException(
                        $"Linear combination needs adapters of one rank, but on '{layer.Name}' they have ranks " +
                        $"{string.Join(", ", adapterNames.Where(layer.Has).Select(n => $"{n}={layer.A(n).weight!.shape[0]}"))}; use CombinationType.Cat.",
                        nameof(adapterNames));
            }

        var first = adapters[adapterNames[0]];
        var factors = new List<(LoraLayer Layer, Tensor A, Tensor B)>();
        try
        {
            using (no_grad())
                foreach (var layer in involved)
                {
                    layer.FollowBase();
                    var present = Enumerable.Range(0, adapterNames.Count).Where(i => layer.Has(adapterNames[i])).ToList();
                    Tensor a, b;
                    using (var scope = NewDisposeScope())
                    {
                        if (type == CombinationType.Cat)
                        {
                            a = cat(present.Select(i => layer.A(adapterNames[i]).weight!.mul(weights[i] * layer.Scaling(adapterNames[i]))).ToList(), 0);
                            b = cat(present.Select(i => layer.B(adapterNames[i]).weight!.detach()).ToList(), 1);
                        }
                        else
                        {
                            a = zeros_like(layer.A(adapterNames[present[0]]).weight!);
                            b = zeros_like(layer.B(adapterNames[present[0]]).weight!);
                            foreach (var i in present)
                            {
                                double root = Math.Sqrt(Math.Abs(weights[i]) * layer.Scaling(adapterNames[i]));
                                a.add_(layer.A(adapterNames[i]).weight!, alpha: Math.Sign(weights[i]) * root);
                                b.add_(layer.B(adapterNames[i]).weight!, alpha: root);
                            }
                        }
                        a.MoveToOuterDisposeScope();
                        b.MoveToOuterDisposeScope();
                    }
                    factors.Add((layer, a, b));
                }

            // Rank per module: the most common one is r, the others go to rank_pattern; alpha = rank keeps scaling 1.
            var rankOf = factors.ToDictionary(f => f.Layer.Name, f => (int)f.A.shape[0]);
            int rank = rankOf.Values.GroupBy(r => r).OrderByDescending(g => g.Count()).First().Key;
            var options = first.Clone();
            options.Rank = rank;
            options.Alpha = rank;
            options.UseRsLora = false;
            options.Init = LoraInit.Default;
            options.TargetModules = TargetModules.Of(factors.Select(f => f.Layer.Name).ToArray());
            options.RankPattern = rankOf.Where(kv => kv.Value != rank).ToDictionary(kv => Regex.Escape(kv.Key), kv => kv.Value);
            options.AlphaPattern = rankOf.Where(kv => kv.Value != rank).ToDictionary(kv => Regex.Escape(kv.Key), kv => (double)kv.Value);

            foreach (var (layer, a, b) in factors)
            {
                layer.AddWithFactors(newName, a, b, scaling: 1.0, first.Dropout);
                layer.Active = ActiveAdapter;
            }
            adapters[newName] = options;
        }
        finally
        {
            foreach (var (_, a, b) in factors) { a.Dispose(); b.Dispose(); }
        }
        ApplyFreezing();
    }
}
