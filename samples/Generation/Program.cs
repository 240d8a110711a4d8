using Generation;
using Generation.Pretraining;

// dotnet run -c Release --project samples/Generation             fine-tunes the shipped decoder with LoRA (the sample)
// dotnet run -c Release --project samples/Generation -- pretrain  re-creates the shipped decoder from Moby-Dick
if (args.Length > 0 && args[0] == "pretrain") Pretrainer.Run(args);
else FineTuneDemo.Run(args);
