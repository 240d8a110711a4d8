using System.Security.Cryptography;
using Microsoft.ML.Peft.Tests.HuggingFace;

namespace Microsoft.ML.Peft.FixtureWriter;

/// <summary>
/// The tokenizer files TokenizerParityTests builds (<see cref="TokenizerParityFiles"/>), written for Hugging Face to
/// read, one folder per case. The test checks each file's SHA-256 against the one make_tokenizer_reference.py recorded.
/// </summary>
internal static class TokenizerFiles
{
    public static void Write(string root)
    {
        foreach (string name in TokenizerParityFiles.Names)
        {
            // Only the case folders this program writes are replaced, never the root it was given.
            string folder = Path.Combine(root, name);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.CreateDirectory(folder);
            string path = TokenizerParityFiles.Write(name, folder);
            Console.WriteLine($"{name}: {path}, SHA-256 {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant()}");
        }
    }
}
