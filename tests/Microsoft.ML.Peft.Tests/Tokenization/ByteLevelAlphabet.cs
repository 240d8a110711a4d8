namespace Microsoft.ML.Peft.Tests.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map: printable Latin-1 bytes stand for themselves, the other bytes
/// (controls, space…) are moved to U+0100 and up, so that every byte has a visible, non-space character.
/// Needed to write vocab.json/merges.txt files in the form byte-level BPE files use.
/// </summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = Build();

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }

        return new string(chars);
    }

    private static char[] Build()
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
