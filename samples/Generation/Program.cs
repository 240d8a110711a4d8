using Generation.Pretraining;

if (args.Length > 0 && args[0] == "pretrain")
{
    Pretrainer.Run(args);
    return;
}
