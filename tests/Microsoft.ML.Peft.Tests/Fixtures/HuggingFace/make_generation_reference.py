#!/usr/bin/env python3
"""Writes Hugging Face generate() references for beam search and the repetition penalty (GenerationParityTests), on
the decoder fixtures make_reference.py wrote (gpt2, llama, qwen2). Greedy search is in make_reference.py already.

For each fixture it adds, beside reference.safetensors:

    generation.safetensors   input_ids, attention_mask (the same left-padded batch) and, per setting, (B, max_new_tokens)
                             int64 new ids; after a row's end of sequence, pad_token_id
    generation.json          the generate() arguments of each setting, versions

Run from the repository root after make_reference.py (needs torch, transformers, safetensors; no GPU):

    python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_generation_reference.py
"""

import os

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from reference_common import FORMAT_VERSION, HERE, versions, write_json

MAX_NEW_TOKENS = 10
PAD_ID = 0

# Deterministic decoding only: sampling draws from another random generator than ours.
SETTINGS = {
    "beam4_early": dict(num_beams=4, length_penalty=1.0, early_stopping=True),
    "beam4_heuristic": dict(num_beams=4, length_penalty=1.0, early_stopping=False),
    "beam3_length_penalty_0.5": dict(num_beams=3, length_penalty=0.5, early_stopping=False),
    "beam3_length_penalty_2": dict(num_beams=3, length_penalty=2.0, early_stopping=True),
    "greedy_repetition_1.3": dict(num_beams=1, repetition_penalty=1.3),
}


def new_ids(model, ids, mask, eos, setting):
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                         pad_token_id=PAD_ID, eos_token_id=eos, num_return_sequences=1, **setting)
    generated = out[:, ids.shape[1]:]
    padded = torch.full((ids.shape[0], MAX_NEW_TOKENS), PAD_ID, dtype=torch.int64)
    padded[:, :generated.shape[1]] = generated
    return padded


def frequent_token(model, ids, mask):
    """The token beam search produces most often under the config's end of sequence: used as the end of sequence
    instead, so that beams finish at different lengths and the length penalty and early stopping matter."""
    generated = new_ids(model, ids, mask, model.config.eos_token_id, dict(num_beams=4))
    values, counts = generated.flatten().unique(return_counts=True)
    counts[values == PAD_ID] = 0
    return int(values[counts.argmax()])


def write(name):
    folder = os.path.join(HERE, name)
    reference = load_file(os.path.join(folder, "reference.safetensors"))
    ids, mask = reference["input_ids"], reference["attention_mask"]
    model = AutoModelForCausalLM.from_pretrained(os.path.join(folder, "model"), attn_implementation="eager",
                                                 dtype=torch.float32)
    model.eval()
    tensors = {"input_ids": ids, "attention_mask": mask}
    with torch.no_grad():
        eos = frequent_token(model, ids, mask)
        for key, setting in SETTINGS.items():
            tensors[key] = new_ids(model, ids, mask, eos, setting)
            print(f"{name} {key} (eos {eos}): {tensors[key].tolist()}")
    save_file(tensors, os.path.join(folder, "generation.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(folder, "generation.json"), {
        "format_version": FORMAT_VERSION, "name": name, "versions": versions(), "max_new_tokens": MAX_NEW_TOKENS,
        "pad_token_id": PAD_ID, "eos_token_id": eos, "settings": SETTINGS,
        "tensors": "per setting (B, max_new_tokens) int64 new ids of generate(do_sample=False, **setting); after a "
                   "row's eos_token_id, pad_token_id. eos_token_id is the token beam search produced most often under "
                   "the config's own, so that beams end at different lengths",
        "command": "python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_generation_reference.py",
    })


if __name__ == "__main__":
    torch.set_float32_matmul_precision("highest")
    print(" ".join(f"{k} {v}" for k, v in versions().items()))
    for fixture in ("gpt2", "llama", "qwen2"):
        write(fixture)
