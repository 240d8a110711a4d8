using System.Text;

namespace Microsoft.ML.Peft.Tests.Decoders;

/// <summary>
/// Writes a tiny SentencePiece BPE <c>tokenizer.model</c> (protobuf <c>ModelProto</c>) by hand: &lt;unk&gt; 0, &lt;s&gt; 1,
/// &lt;/s&gt; 2, the 256 byte-fallback pieces 3–258, then "▁", "t", "h", "e", "c", "a" (259–264) and the merges
/// "▁t" 265, "he" 266, "▁the" 267, "at" 268, "▁c" 269, whose scores give their priority.
/// </summary>
internal static class TinySentencePiece
{
    public const int The = 267, SpaceC = 269, At = 268;

    public static void Write(string path)
    {
        var model = new List<byte>();
        void Piece(string text, float score, int type) => Field(model, 1, Message(m =>
        {
            Field(m, 1, Encoding.UTF8.GetBytes(text));
            m.Add(2 << 3 | 5);
            m.AddRange(BitConverter.GetBytes(score));
            Varint(m, 3, type);
        }));
        Piece("<unk>", 0, 2);
        Piece("<s>", 0, 3);
        Piece("</s>", 0, 3);
        for (int b = 0; b < 256; b++) Piece($"<0x{b:X2}>", 0, 6);
        string[] chars = { "\u2581", "t", "h", "e", "c", "a" };
        for (int i = 0; i < chars.Length; i++) Piece(chars[i], -100 - i, 1);
        string[] merges = { "\u2581t", "he", "\u2581the", "at", "\u2581c" };
        for (int i = 0; i < merges.Length; i++) Piece(merges[i], -1 - i, 1);
        Field(model, 2, Message(t =>
        {
            Varint(t, 3, 2);                // model_type BPE
            Varint(t, 4, 270);              // vocab_size
            Varint(t, 35, 1);               // byte_fallback
            Varint(t, 40, 0);               // unk_id
            Varint(t, 41, 1);               // bos_id
            Varint(t, 42, 2);               // eos_id
        }));
        Field(model, 3, Message(n =>
        {
            Field(n, 1, Encoding.UTF8.GetBytes("identity"));
            Varint(n, 3, 1);                // add_dummy_prefix
            Varint(n, 4, 0);                // remove_extra_whitespaces
            Varint(n, 5, 1);                // escape_whitespaces
        }));
        File.WriteAllBytes(path, model.ToArray());
    }

    static byte[] Message(Action<List<byte>> build)
    {
        var bytes = new List<byte>();
        build(bytes);
        return bytes.ToArray();
    }

    static void Field(List<byte> to, int number, byte[] payload)
    {
        WriteVarint(to, (ulong)(number << 3 | 2));
        WriteVarint(to, (ulong)payload.Length);
        to.AddRange(payload);
    }

    static void Varint(List<byte> to, int number, long value)
    {
        WriteVarint(to, (ulong)(number << 3));
        WriteVarint(to, (ulong)value);
    }

    static void WriteVarint(List<byte> to, ulong value)
    {
        while (value >= 0x80)
        {
            to.Add((byte)(value | 0x80));
            value >>= 7;
        }
        to.Add((byte)value);
    }
}
