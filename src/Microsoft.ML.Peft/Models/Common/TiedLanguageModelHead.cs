using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Models;

/// <summary>
/// The language-model head shared by the decoders: an <c>lm_head</c> Linear (hidden to vocab, no bias) when the
/// config unties it, else the token-embedding matrix itself. A tied head has no module of its own, so the matrix
/// appears once in the state dict, as Hugging Face's <c>save_pretrained</c> writes it.
/// </summary>
internal static class TiedLanguageModelHead
{
    /// <summary>The untied head (initialised N(0, std)), or null when the head is tied to the embeddings.</summary>
    public static Linear? CreateUntied(bool tieWordEmbeddings, int hiddenSize, int vocabSize, double std)
    {
        if (tieWordEmbeddings) return null;
        var head = nn.Linear(hiddenSize, vocabSize, hasBias: false);
        using (no_grad()) nn.init.normal_(head.weight, 0, std);
        return head;
    }

    /// <summary>(B, T, hidden) to (B, T, vocab) logits through <paramref name="head"/>, or the tied embedding matrix.</summary>
    public static Tensor Logits(Tensor hidden, Linear? head, Embedding embeddings)
    {
        if (head is not null) return head.call(hidden);  // call(): adapters hook the head too
        using var weight = embeddings.weight!;           // Embedding.weight hands out a fresh wrapper on each call
        return nn.functional.linear(hidden, weight);
    }

    /// <summary>(B, T, hidden) to the (B, vocab) logits of the last position, the head run on that position alone.</summary>
    public static Tensor LastLogits(Tensor hidden, Linear? head, Embedding embeddings)
    {
        // Copied out of the strided view, as BERT's first-position rows are: products of such views were not
        // bit-reproducible across model instances.
        using var view = hidden.select(1, -1);
        using var last = view.contiguous();  // (B, hidden)
        return Logits(last, head, embeddings);
    }

    /// <summary>The device of the model, read from its token embeddings.</summary>
    public static Device DeviceOf(Embedding embeddings)
    {
        using var weight = embeddings.weight!;  // a fresh wrapper, disposed; the parameter lives on
        return weight.device;
    }
}
