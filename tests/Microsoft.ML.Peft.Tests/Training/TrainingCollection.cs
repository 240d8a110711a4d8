namespace Microsoft.ML.Peft.Tests.Training;

/// <summary>
/// Trainer tests run alone: torch's default generator is process-wide, so a test seeding or drawing from it on
/// another thread would break the bit-exact comparisons, and process RSS is only meaningful with no other test allocating.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainingCollection
{
    public const string Name = "Training (serial)";
}
