using System.Text;

namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map, the alphabet of every byte-level BPE vocabulary: printable Latin-1
/// bytes stand for themselves, the others (controls, space, ...) move to U+0100 and up, so no token holds a space.
/// </summary>
internal static class ByteLevelChars
{
    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    /// <summary>The 256 characters of the alphabet, in byte order (the first 256 entries of a byte-level vocabulary).</summary>
    public static IReadOnlyList<char> Alphabet => ByteToChar;

    /// <summary>The vocabulary spelling of <paramref name="text"/>: its UTF-8 bytes, one character each.</summary>
    public static string Encode(string text) => Encode(Encoding.UTF8.GetBytes(text));

    /// <summary>The vocabulary spelling of <paramref name="bytes"/>, one character each.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>
    /// Appends the bytes a token spells. A token with a character outside the alphabet (an added token such as
    /// "&lt;|im_start|&gt;" written in plain text) contributes its own UTF-8 bytes instead, as Hugging Face does.
    /// </summary>
    public static void AppendBytes(string token, List<byte> to)
    {
        int start = to.Count;
        foreach (char c in token)
        {
            if (!CharToByte.TryGetValue(c, out byte b))
            {
                to.RemoveRange(start, to.Count - start);
                to.AddRange(Encoding.UTF8.GetBytes(token));
                return;
            }

            to.Add(b);
        }
    }

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
