#!/usr/bin/env python3
"""Writes the Hugging Face reference fixtures for our encoders (EncoderParityTests): tiny random BERT and RoBERTa
sequence classifiers as transformers computes them, and a LoRA adapter PEFT saved for each (task SEQ_CLS, so the
classification head travels as a module to save).

For each of bert, roberta it writes, next to this script:

    <name>/model/                 config.json + model.safetensors (fp32) as save_pretrained writes them, and the
                                  tokenizer files our loader needs (vocab.txt; vocab.json + merges.txt), never used
                                  since the fixture gives token ids
    <name>/reference.safetensors  input_ids, attention_mask, token_type_ids (int64, right-padded batch),
                                  hidden (float32 last hidden state), logits (float32)
    <name>/reference.json         versions, settings and what each tensor means
    peft/from_peft/<name>_lora_seq_cls/   adapter/ (PEFT's save_pretrained), reference.safetensors (inputs and the
                                  PeftModel's logits), reference.json

Run from the repository root (needs torch, transformers, peft and safetensors; no GPU):

    python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_encoder_reference.py
"""

import json
import os
import shutil

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification, BertConfig, RobertaConfig

from reference_common import FORMAT_VERSION, HERE, LOGITS_TOLERANCE, add_noise, save_adapter, versions, write_json

NUM_LABELS = 3
NOISE = 0.1          # on every weight after HF's init, so no LayerNorm stays 1 and no bias 0
ADAPTER_NOISE = 0.3  # on every trainable adapter parameter (and the head copy PEFT trains)

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def byte_level_alphabet():
    """GPT-2's printable stand-ins for the 256 bytes, in byte order."""
    kept = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in kept:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def configs():
    bert = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0,
        initializer_range=0.2, num_labels=NUM_LABELS)
    roberta_vocab = len(ROBERTA_SPECIALS) + 256 + 1   # specials, the byte alphabet, <mask>
    roberta = RobertaConfig(
        vocab_size=roberta_vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=66, type_vocab_size=1, hidden_act="gelu", layer_norm_eps=1e-5, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, initializer_range=0.2, num_labels=NUM_LABELS)
    return {"bert": bert, "roberta": roberta}


# Right-padded batches (encoders pad on the right): a full row, a row padded by 2, a row padded by 4.
BATCHES = {
    "bert": dict(pad=0, ids=[[2, 17, 42, 8, 99, 23, 3], [2, 11, 77, 54, 3, 0, 0], [2, 64, 3, 0, 0, 0, 0]],
                 types=[[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]]),
    "roberta": dict(pad=1, ids=[[0, 17, 42, 8, 99, 23, 2], [0, 11, 77, 54, 2, 1, 1], [0, 64, 2, 1, 1, 1, 1]], types=None),
}


def write_tokenizer(folder, name, vocab_size):
    if name == "bert":
        words = BERT_SPECIALS + [f"w{i}" for i in range(vocab_size - len(BERT_SPECIALS))]
        with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(words) + "\n")
        return
    tokens = ROBERTA_SPECIALS + byte_level_alphabet() + ["<mask>"]
    assert len(tokens) == vocab_size
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")


def build_model(config, seed):
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(config, attn_implementation="eager").to(torch.float32)
    add_noise(model, seed + 1000, NOISE, trainable_only=False)
    model.eval()
    return model


def inputs(name):
    batch = BATCHES[name]
    ids = torch.tensor(batch["ids"], dtype=torch.int64)
    tensors = {"input_ids": ids, "attention_mask": (ids != batch["pad"]).to(torch.int64)}
    tensors["token_type_ids"] = torch.tensor(batch["types"], dtype=torch.int64) if batch["types"] else torch.zeros_like(ids)
    return tensors


def forward(model, tensors):
    with torch.no_grad():
        out = model(**tensors, output_hidden_states=True)
    return out.logits.float().contiguous(), out.hidden_states[-1].float().contiguous()


TENSOR_NOTES = {
    "input_ids": "(B, T) int64, right-padded with pad_token_id",
    "attention_mask": "(B, T) int64 0/1",
    "token_type_ids": "(B, T) int64 (zeros for RoBERTa)",
    "hidden": "(B, T, hidden) float32 last hidden state of the encoder; compare where attention_mask is 1",
    "logits": "(B, num_labels) float32",
}


def write_fixture(name, config, seed):
    model = build_model(config, seed)
    tensors = inputs(name)
    logits, hidden = forward(model, tensors)
    folder = os.path.join(HERE, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    model_folder = os.path.join(folder, "model")
    model.save_pretrained(model_folder)
    write_tokenizer(model_folder, name, config.vocab_size)
    save_file({**tensors, "hidden": hidden, "logits": logits}, os.path.join(folder, "reference.safetensors"),
              metadata={"format": "pt"})
    write_json(os.path.join(folder, "reference.json"), {
        "format_version": FORMAT_VERSION, "name": name, "model_type": config.model_type, "seed": seed,
        "versions": versions(), "dtype": "float32", "attn_implementation": "eager", "num_labels": NUM_LABELS,
        "pad_token_id": config.pad_token_id, "logits_tolerance": LOGITS_TOLERANCE, "tensors": TENSOR_NOTES,
        "command": "python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_encoder_reference.py",
    })
    print(f"{name}: logits {tuple(logits.shape)}, hidden {tuple(hidden.shape)}")
    return model_folder


def write_lora_fixture(name, model_folder, seed):
    model = AutoModelForSequenceClassification.from_pretrained(model_folder, attn_implementation="eager")
    torch.manual_seed(seed)
    config = LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["query", "value"],
                        init_lora_weights=False)
    peft_model = get_peft_model(model, config)
    add_noise(peft_model, seed + 1000, ADAPTER_NOISE, trainable_only=True)
    peft_model.eval()
    tensors = inputs(name)
    logits, _ = forward(peft_model, tensors)
    case = f"{name}_lora_seq_cls"
    folder = os.path.join(HERE, "peft", "from_peft", case)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    save_adapter(peft_model, os.path.join(folder, "adapter"), model_folder)
    save_file({**tensors, "logits": logits}, os.path.join(folder, "reference.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(folder, "reference.json"), {
        "format_version": FORMAT_VERSION, "name": case, "direction": "from_peft", "base_fixture": name,
        "peft_type": "LORA", "task_type": "SEQ_CLS", "seed": seed, "noise": ADAPTER_NOISE, "versions": versions(),
        "dtype": "float32", "attn_implementation": "eager", "padded": True, "logits_tolerance": LOGITS_TOLERANCE,
        "tensors": {k: v for k, v in TENSOR_NOTES.items() if k != "hidden"},
        "command": "python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_encoder_reference.py",
    })
    print(f"from_peft/{case}: logits {tuple(logits.shape)}, modules_to_save {peft_model.peft_config['default'].modules_to_save}")


def main():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    print(" ".join(f"{k} {v}" for k, v in versions().items()))
    for index, (name, config) in enumerate(configs().items()):
        model_folder = write_fixture(name, config, seed=700 + 100 * index)
        write_lora_fixture(name, model_folder, seed=750 + 100 * index)


if __name__ == "__main__":
    main()
