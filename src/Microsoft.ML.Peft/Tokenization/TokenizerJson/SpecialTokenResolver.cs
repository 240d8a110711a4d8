namespace Microsoft.ML.Peft.Tokenization;

/// <summary>
/// Decides the special token ids and the framing of a <c>tokenizer.json</c> model from the folder's other files.
/// The precedence is documented on <see cref="HuggingFaceTokenizer"/>.
/// </summary>
internal sealed class SpecialTokenResolver
{
    readonly string folder;
    readonly Func<string, int?> tokenToId;

    public SpecialTokenResolver(string folder, Func<string, int?> tokenToId) => (this.folder, this.tokenToId) = (folder, tokenToId);

    public (SpecialTokenIds Ids, IReadOnlyList<int> EosIds) Resolve(TokenizerConfig config, ModelTokenIds modelIds, string? modelUnknownToken, int? firstSpecialAddedId)
    {
        int? bos = Named(config.BosToken, "bos_token") ?? modelIds.Bos;
        int? eos = Named(config.EosToken, "eos_token") ?? (modelIds.Eos.Count > 0 ? modelIds.Eos[0] : null);
        int? unk = Named(config.UnkToken, "unk_token") ?? (modelUnknownToken is null ? null : tokenToId(modelUnknownToken));
        int? mask = Named(config.MaskToken, "mask_token");
        // A decoder rarely has a padding token; padded positions are masked out, so the end-of-sequence id serves.
        // Failing all else a special added token does: decoding drops the pad id, so it must not be a word's id.
        int pad = Named(config.PadToken, "pad_token") ?? modelIds.Pad ?? eos ?? unk ?? firstSpecialAddedId ?? 0;
        var eosIds = new List<int>();
        if (eos is int e) eosIds.Add(e);
        eosIds.AddRange(modelIds.Eos.Where(id => !eosIds.Contains(id)));
        return (new SpecialTokenIds(bos, eos, pad, unk, mask), eosIds);
    }

    /// <summary>
    /// The framing: <c>add_bos_token</c> / <c>add_eos_token</c> when <c>tokenizer_config.json</c> states them (each
    /// decides its own side, as transformers' Llama tokenizers rebuild their template from them), else the
    /// post-processor's template, else none.
    /// </summary>
    public SequenceTemplate Framing(TokenizerConfig config, SequenceTemplate? template, SpecialTokenIds ids)
    {
        if (config.AddBosToken is null && config.AddEosToken is null) return template ?? SequenceTemplate.None;
        int Require(int? id, string flag, string role) => id
            ?? throw new InvalidDataException($"{folder}: {TokenizerConfig.TokenizerConfigFile} sets {flag} but the folder names no {role} token (bos_token/eos_token, or the *_token_id of generation_config.json or config.json).");
        int[] prefix = config.AddBosToken switch { true => [Require(ids.Bos, "add_bos_token", "beginning-of-sequence")], false => [], null => template?.Prefix ?? [] };
        int[] suffix = config.AddEosToken switch { true => [Require(ids.Eos, "add_eos_token", "end-of-sequence")], false => [], null => template?.Suffix ?? [] };
        return new SequenceTemplate(prefix, [.. suffix, .. prefix], suffix, template?.SecondSegmentTypeId ?? 0);
    }

    int? Named(string? token, string key)
    {
        if (token is null) return null;
        return tokenToId(token) ?? throw new InvalidDataException(
            $"{folder}: {key} '{token}' (from {TokenizerConfig.SpecialTokensMapFile} or {TokenizerConfig.TokenizerConfigFile}) is neither an added token nor in the vocabulary of {HuggingFaceTokenizer.TokenizerJsonFile}.");
    }
}
