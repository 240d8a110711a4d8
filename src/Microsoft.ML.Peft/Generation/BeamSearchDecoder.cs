using Microsoft.ML.Peft.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Generation;

/// <summary>
/// Beam search over a left-padded batch: each prompt keeps <c>num_beams</c> running sequences, rows
/// <c>b·num_beams … b·num_beams + num_beams − 1</c> of the model batch. Each step scores every (beam, token)
/// continuation by summed log-probability, keeps the best <c>2·num_beams</c> per prompt (so that enough
/// non-final candidates survive when some end), moves end-of-sequence candidates among the top <c>num_beams</c>
/// into <see cref="BeamHypotheses"/>, and reorders the KV cache to the parents of the surviving beams.
/// At the start only beam 0 is live (the others score −1e9), so the first step does not pick the same token
/// from identical beams. With one beam this is greedy search. Stop texts are not checked during the search;
/// <see cref="TextGenerator"/> cuts the final text at them.
/// </summary>
internal static class BeamSearchDecoder
{
    public static int[][] Run(ICausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, StopConditions stop, int padId)
    {
        int beams = options.NumBeams, batch = prompts.Count;
        var hypotheses = prompts.Select(_ => new BeamHypotheses(beams, options.LengthPenalty, options.EarlyStopping)).ToArray();
        var sequences = Enumerable.Range(0, batch * beams).Select(_ => new List<int>()).ToArray();   // generated tokens per model row
        var scores = new double[batch * beams];
        for (int i = 0; i < scores.Length; i++) scores[i] = i % beams == 0 ? 0 : -1e9;

        var (promptIds, promptMask) = PromptBatch.LeftPadded(prompts, padId, model.Device);
        using var prompt = torch.arange(batch, dtype: ScalarType.Int64);
        using var expand = prompt.repeat_interleave(beams);                                              // (B·beams) prompt of each row
        Tensor ids = promptIds.index_select(0, expand).DetachFromDisposeScope();                          // (B·beams, L)
        Tensor mask = promptMask.index_select(0, expand).DetachFromDisposeScope();
        promptIds.Dispose();
        promptMask.Dispose();
        using var cache = options.UseCache ? new KvCache(model.NumLayers) : null;
        try
        {
            for (int step = 0; step < options.MaxNewTokens && !hypotheses.All(h => h.IsDone); step++)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var input = cache is not null && step > 0 ? ids.narrow(1, ids.shape[1] - 1, 1) : ids;
                var last = model.LastLogits(input, mask, null, cache).to(ScalarType.Float32);  // (B·beams, V)
                last = LogitsProcessor.RepetitionPenalty(last, ids, mask, options.RepetitionPenalty);
                long vocab = last.shape[1];
                var total = last.log_softmax(1) + torch.tensor(scores, ScalarType.Float64).to(ScalarType.Float32).to(last.device).unsqueeze(1);
                var (topScores, topIndices) = total.view(batch, beams * vocab).topk(2 * beams, dim: 1);     // (B, 2·beams)
                float[] candScores = topScores.cpu().data<float>().ToArray();
                long[] candIndices = topIndices.cpu().data<long>().ToArray();

                var parents = new long[batch * beams];
                var tokens = new long[batch * beams];
                var nextScores = new double[batch * beams];
                for (int b = 0; b < batch; b++)
                {
                    int filled = 0;
                    if (hypotheses[b].IsDone)
                    {
                        // A finished prompt keeps dummy beams so the batch stays rectangular.
                        for (; filled < beams; filled++) (parents[b * beams + filled], tokens[b * beams + filled]) = (b * beams + filled, padId);
                        continue;
                    }
                    for (int rank = 0; rank < 2 * beams && filled < beams; rank++)
                    {
                        long index = candIndices[b * 2 * beams + rank];
                        int parent = b * beams + (int)(index / vocab), token = (int)(index % vocab);
                        double score = candScores[b * 2 * beams + rank];
                        if (stop.IsStopId(token))
                        {
                            if (rank < beams) hypotheses[b].Add(sequences[parent].Append(token).ToArray(), score);
                            continue;
                        }
                        int slot = b * beams + filled++;
                        (parents[slot], tokens[slot], nextScores[slot]) = (parent, token, score);
                    }
                    // Only when several end ids fill the candidates: pad with dead beams that can never win.
                    for (; filled < beams; filled++) (parents[b * beams + filled], tokens[b * beams + filled], nextScores[b * beams + filled]) = (b * beams, padId, -1e9);
                    hypotheses[b].Update(nextScores[b * beams], step + 1);
                }

                // Surviving beams continue their parents: reorder history, cache and host-side sequences.
                var parentIndex = torch.tensor(parents, ScalarType.Int64).to(ids.device);
                var column = torch.tensor(tokens, new long[] { batch * beams, 1 }, ScalarType.Int64, ids.device);
                Replace(ref ids, torch.cat(new[] { ids.index_select(0, parentIndex), column }, 1));
                Replace(ref mask, torch.cat(new[] { mask.index_select(0, parentIndex), ones_like(column) }, 1));
                cache?.Reorder(parentIndex);
                var previous = sequences;
                sequences = new List<int>[previous.Length];
                for (int row = 0; row < sequences.Length; row++)
                    sequences[row] = new List<int>(previous[parents[row]]) { (int)tokens[row] };   // a parent may have several children
                scores = nextScores;
            }

            // Prompts still running at the token budget: their live beams are candidates too.
            for (int b = 0; b < batch; b++)
            {
                if (hypotheses[b].IsDone) continue;
                for (int k = 0; k < beams; k++) hypotheses[b].Add(sequences[b * beams + k].ToArray(), scores[b * beams + k]);
            }
            return hypotheses.Select(h => h.Best()).ToArray();
        }
        finally
        {
            ids.Dispose();
            mask.Dispose();
        }
    }

    static void Replace(ref Tensor field, Tensor next)
    {
        next.DetachFromDisposeScope();
        field.Dispose();
        field = next;
    }
}
