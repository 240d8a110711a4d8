using Microsoft.ML.Peft.Benchmarks;

// Each benchmark is one class; add new ones here.
IBenchmark[] benchmarks =
{
    new CheckpointLoadBenchmark(),
    new QuantizationMemoryBenchmark(),
    new TrainThroughputBenchmark(),
    new QLoraTrainBenchmark(),
    new EncoderForwardBenchmark(),
    new LoraOverheadBenchmark(),
    new ClassifierTransformBenchmark(),
    new GenerationThroughputBenchmark(),
    new PrefillHeadBenchmark(),
};

var chosen = args.Length > 0 ? benchmarks.FirstOrDefault(b => b.Name == args[0]) : null;
if (chosen is null)
{
    Console.Error.WriteLine(args.Length == 0 ? "No benchmark named." : $"Unknown benchmark '{args[0]}'.");
    Console.Error.WriteLine("Usage: Microsoft.ML.Peft.Benchmarks NAME [args]. Benchmarks:");
    foreach (var b in benchmarks) Console.Error.WriteLine($"  {b.Name,-20} {b.Description}");
    return 2;
}
chosen.Run(args[1..]);
return 0;
