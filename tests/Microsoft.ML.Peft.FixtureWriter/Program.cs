// Writes the inputs of the Hugging Face fixtures that need our code first (see
// tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/README.md):
//
//   dotnet run --project tests/Microsoft.ML.Peft.FixtureWriter -- peft OUTPUT_FOLDER         for make_peft_reference.py --ours
//   dotnet run --project tests/Microsoft.ML.Peft.FixtureWriter -- tokenizers OUTPUT_FOLDER   for make_tokenizer_reference.py --tokenizers
using Microsoft.ML.Peft.FixtureWriter;

if (args.Length != 2 || args[0] is not ("peft" or "tokenizers"))
{
    Console.Error.WriteLine("usage: Microsoft.ML.Peft.FixtureWriter peft|tokenizers OUTPUT_FOLDER");
    return 2;
}
string root = Path.GetFullPath(args[1]);
if (args[0] == "peft") PeftCases.Write(root);
else TokenizerFiles.Write(root);
return 0;
