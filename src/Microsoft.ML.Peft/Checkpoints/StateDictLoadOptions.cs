namespace Microsoft.ML.Peft.Checkpoints;

/// <summary>How <see cref="StateDictLoader"/> matches checkpoint keys to a module's <c>state_dict()</c> keys.</summary>
public sealed class StateDictLoadOptions
{
    /// <summary>
    /// When true (the default), any module key the checkpoint lacks and any checkpoint key the module lacks
    /// fails the load, except those allowed by <see cref="AllowMissing"/> and <see cref="IgnoreUnexpected"/>.
    /// When false they are only reported. Shape and dtype mismatches always fail.
    /// </summary>
    public bool Strict { get; init; } = true;

    /// <summary>
    /// Renames checkpoint keys to module keys before matching (e.g. <c>gamma</c> to <c>weight</c>); returning
    /// null skips that tensor, which is then reported as ignored. Applied before prefix detection.
    /// </summary>
    public Func<string, string?>? KeyMapper { get; init; }

    /// <summary>
    /// When true (the default), a base-model prefix is detected and fixed: every checkpoint key lacks a
    /// prefix the module has (checkpoint <c>embeddings.*</c>, module <c>bert.embeddings.*</c>) so it is added,
    /// or checkpoint keys carry a prefix the module has not (checkpoint <c>bert.*</c>, module <c>embeddings.*</c>)
    /// so it is removed. A prefix is only applied when it matches more keys than matching as-is.
    /// </summary>
    public bool DetectPrefix { get; init; } = true;

    /// <summary>
    /// Module key prefixes that may stay missing, e.g. <c>classifier.</c> for a freshly initialised head; such
    /// keys keep their initial values and are reported in <see cref="StateDictLoadReport.FreshKeys"/>.
    /// </summary>
    public IReadOnlyList<string> AllowMissing { get; init; } = Array.Empty<string>();

    /// <summary>
    /// Checkpoint key prefixes the module may lack, e.g. <c>cls.</c> (a pre-training head) or <c>pooler.</c>;
    /// compared with the key both as stored and after mapping. Reported in <see cref="StateDictLoadReport.IgnoredKeys"/>.
    /// </summary>
    public IReadOnlyList<string> IgnoreUnexpected { get; init; } = Array.Empty<string>();
}
