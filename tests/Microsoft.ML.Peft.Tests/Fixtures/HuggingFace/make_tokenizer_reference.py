#!/usr/bin/env python3
"""Writes Hugging Face tokenizer references (TokenizerParityTests) and the shipped decoder's logits.

Reads the tokenizer files our tests build (written by `dotnet run --project tests/Microsoft.ML.Peft.FixtureWriter --
tokenizers DIR`) from --tokenizers:
gpt2/, llama3_style/, llama2_style/, llama2_style_metaspace/ (tokenizer.json) and bert_uncased/ (the vocab.txt of
all-MiniLM-L6-v2), plus the Generation sample's model folder. Writes, beside this script:

    tokenizers.json                    the texts, and per tokenizer the file's SHA-256 and the ids of every text with
                                       and without special tokens, from tokenizers.Tokenizer / BertWordPieceTokenizer /
                                       AutoTokenizer
    generation_sample.safetensors      input_ids (1, T) of the last text by the sample's tokenizer, and the logits
                                       (1, T, vocab) float32 of the sample's shipped model in transformers

Run from the repository root (needs torch, transformers, tokenizers, safetensors; no GPU):

    python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_tokenizer_reference.py --tokenizers DIR
"""

import argparse
import hashlib
import os

import tokenizers
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from reference_common import FORMAT_VERSION, HERE, versions, write_json

REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
SAMPLE_MODEL = os.path.join(REPO, "samples", "Generation", "Model")

# Varied text: contractions, numbers, whitespace runs, tabs and CRLF, accents, CJK and emoji (byte fallback where a
# vocabulary lacks them), code, a special token written in the text, one character, and an email as the sample sees.
TEXTS = [
    "Hello world",
    " leading space and trailing  ",
    "Don't stop: it's 3.14159, isn't it? I'll see you at 10:30pm.",
    "tab\there\r\nnew line\n\n  indented",
    "naïve café résumé Zürich ÉCOLE",
    "東京 🚀 123, that's it!",
    "def f(x):\n    return x**2  # square",
    "<|endoftext|> is a special token",
    "a",
    "Subject: meeting moved to Friday\n\nHi Tom, can we move tomorrow's meeting to 3pm? I'll bring the numbers.",
]

TOKENIZER_JSON = ["gpt2", "llama3_style", "llama2_style", "llama2_style_metaspace"]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizers", required=True, help="folder with the tokenizer files our tests build")
    args = parser.parse_args()
    print(" ".join(f"{k} {v}" for k, v in versions().items()), f"tokenizers {tokenizers.__version__}")

    cases = {}
    for name in TOKENIZER_JSON:
        path = os.path.join(args.tokenizers, name, "tokenizer.json")
        tokenizer = tokenizers.Tokenizer.from_file(path)
        cases[name] = {
            "file": "tokenizer.json", "sha256": sha256(path), "reader": "tokenizers.Tokenizer.from_file",
            "ids": [tokenizer.encode(t, add_special_tokens=False).ids for t in TEXTS],
            "ids_with_special_tokens": [tokenizer.encode(t, add_special_tokens=True).ids for t in TEXTS],
        }
    vocab = os.path.join(args.tokenizers, "bert_uncased", "vocab.txt")
    # The Rust WordPiece that BertTokenizerFast wraps, configured as bert-base-uncased (lowercase, accents stripped,
    # Chinese characters split). transformers 5's BertTokenizerFast no longer takes vocab_file.
    bert = tokenizers.BertWordPieceTokenizer(vocab, lowercase=True)
    assert bert.get_vocab_size() == 30522, bert.get_vocab_size()
    cases["bert_uncased"] = {
        "file": "vocab.txt", "sha256": sha256(vocab), "reader": "tokenizers.BertWordPieceTokenizer(vocab, lowercase=True)",
        "ids": [bert.encode(t, add_special_tokens=False).ids for t in TEXTS],
        "ids_with_special_tokens": [bert.encode(t, add_special_tokens=True).ids for t in TEXTS],
    }
    sample = AutoTokenizer.from_pretrained(SAMPLE_MODEL)
    cases["generation_sample"] = {
        "file": "samples/Generation/Model (vocab.json, merges.txt, tokenizer_config.json)",
        "sha256": sha256(os.path.join(SAMPLE_MODEL, "vocab.json")), "reader": f"AutoTokenizer ({type(sample).__name__})",
        "ids": [sample(t, add_special_tokens=False)["input_ids"] for t in TEXTS],
        "ids_with_special_tokens": [sample(t, add_special_tokens=True)["input_ids"] for t in TEXTS],
    }
    for name, case in cases.items():
        print(name, case["ids"][2], case["ids_with_special_tokens"][0])

    write_json(os.path.join(HERE, "tokenizers.json"), {
        "format_version": FORMAT_VERSION, "versions": {**versions(), "tokenizers": tokenizers.__version__},
        "texts": TEXTS, "cases": cases,
        "command": "python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_tokenizer_reference.py --tokenizers DIR",
    })

    model = AutoModelForCausalLM.from_pretrained(SAMPLE_MODEL, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    ids = torch.tensor([cases["generation_sample"]["ids"][-1]], dtype=torch.int64)
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float().contiguous()
    save_file({"input_ids": ids, "logits": logits}, os.path.join(HERE, "generation_sample.safetensors"),
              metadata={"format": "pt", "model": "samples/Generation/Model", "model_sha256": sha256(os.path.join(SAMPLE_MODEL, "model.safetensors"))})
    print(f"generation_sample logits {tuple(logits.shape)}")


if __name__ == "__main__":
    torch.set_float32_matmul_precision("highest")
    main()
