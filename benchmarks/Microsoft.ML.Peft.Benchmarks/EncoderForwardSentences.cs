namespace Microsoft.ML.Peft.Benchmarks;

/// <summary>
/// The 32 sentences of the encoder-forward batch: short questions, ordinary prose, technical text, numbers,
/// accents and CJK, and a few paragraphs long enough to be truncated at 128 tokens, so that padding, truncation
/// and the attention mask all take part as they would in a real embedding job.
/// </summary>
static class EncoderForwardSentences
{
    const string LongParagraph =
        "The committee met on a rainy Tuesday to review the proposal for the new bridge across the river, " +
        "which had been debated for nearly a decade. Engineers presented three designs: a suspension bridge, " +
        "a cable-stayed bridge, and a simple concrete arch. Each option came with detailed estimates of cost, " +
        "construction time, maintenance, and environmental impact on the wetlands downstream. Residents who " +
        "attended the session asked about traffic during construction, the noise of pile driving at night, " +
        "and whether cyclists and pedestrians would get a separate lane protected from cars and trucks.";

    public static readonly string[] All =
    {
        "How do I reset my password?",
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
        "A man is playing a guitar on the street corner while people walk by.",
        "What is the capital of France, and how many people live there?",
        "The quick brown fox jumps over the lazy dog.",
        "Machine learning models can be fine-tuned with low-rank adapters to save memory.",
        "Please send the quarterly report to the finance team before Friday at 5 pm.",
        "Café naïve façade — résumé of the meeting in Zürich.",
        "東京は日本の首都です。",
        "Our revenue grew 12.5% year over year, to $4.2 billion, driven by cloud services.",
        "Can you recommend a good Italian restaurant near the train station?",
        "The patient was prescribed 500 mg of amoxicillin three times a day for ten days.",
        "Photosynthesis converts light energy into chemical energy stored in glucose.",
        "To install the package, run the command and restart your terminal session.",
        LongParagraph,
        "Scientists discovered a new species of frog in the rainforest of Madagascar last spring.",
        "I'm not sure whether the train leaves at 8:15 or 8:45; let me check the timetable.",
        "The stock market fell sharply after the central bank raised interest rates unexpectedly.",
        "Two dogs are running through a field of tall grass chasing a red ball.",
        "Error: the file could not be opened because it is being used by another process.",
        LongParagraph + " " + LongParagraph,
        "She won the chess tournament after a long endgame that lasted almost four hours.",
        "Where can I find the user manual for this washing machine?",
        "The museum's new exhibition features paintings from the Dutch Golden Age.",
        "Heavy snowfall closed the mountain pass, stranding dozens of travelers overnight.",
        "Transformers use self-attention to relate every token of a sequence to every other token, " +
        "which lets them model long-range dependencies better than recurrent networks did.",
        "Thank you!",
        "The recipe calls for two cups of flour, one egg, a pinch of salt and warm milk.",
        "Astronomers observed a supernova in a galaxy about 50 million light-years away.",
        "Remote work has changed how companies think about offices, hiring and collaboration across time zones.",
    };
}
