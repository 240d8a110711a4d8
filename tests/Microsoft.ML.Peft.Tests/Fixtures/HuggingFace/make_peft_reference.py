#!/usr/bin/env python3
"""Writes the Hugging Face PEFT interchange fixtures that PeftInterchangeTests compares our methods with.

Two directions, each one folder per case under peft/ beside this script:

  peft/from_peft/<case>/   an adapter written by PEFT itself on one of make_reference.py's base models:
      adapter/                  adapter_config.json + adapter_model.safetensors as PeftModel.save_pretrained writes them
      reference.safetensors     input_ids, attention_mask (int64), position_ids (int64, tuner methods only),
                                logits (float32) of the PeftModel
      reference.json            versions, base fixture, method settings, what each tensor means
  peft/to_peft/<case>/     a base model and an adapter written by OUR code (see --ours), as PEFT reads them:
      base/, adapter/           copied unchanged from --ours
      reference.safetensors     the inputs, and logits (float32) of PeftModel.from_pretrained(base, adapter)
      reference.json            as above, plus the largest difference from the logits our code computed

Run from the repository root after make_reference.py (needs torch, transformers, peft and safetensors; no GPU):

    python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_peft_reference.py [--ours DIR]

DIR holds one folder per case with base/, adapter/, ours.safetensors and case.json, written by our code (the
`dotnet run --project tests/Microsoft.ML.Peft.FixtureWriter -- peft DIR`). Without --ours only the from_peft fixtures are written.
"""

import argparse
import json
import os
import shutil
import sys
import traceback

import torch
from peft import (IA3Config, LoraConfig, PeftModel, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig,
                  get_peft_model)
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from reference_common import FORMAT_VERSION, HERE, LOGITS_TOLERANCE, add_noise, save_adapter, versions, write_json

NOISE = 0.3            # added to every trainable parameter after PEFT's init, so no factor stays zero or one

# The padded batch of make_reference.py (tuner methods) and two full rows (prompt-learning methods: no padding, so
# the virtual tokens' position convention on padded rows plays no part).
PADDED = [[17, 42, 8, 99, 23, 5, 61, 30], [0, 0, 0, 11, 77, 3, 54, 90], [0, 0, 0, 0, 0, 64, 12, 38]]
FULL = [[17, 42, 8, 99, 23, 5, 61, 30], [11, 77, 3, 54, 90, 64, 12, 38]]

LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def from_peft_cases():
    """(case, base fixture, PEFT config factory, padded batch?)"""
    return [
        ("gpt2_lora", "gpt2", lambda: LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0,
                                                 target_modules=["c_attn", "c_proj"], fan_in_fan_out=True,
                                                 init_lora_weights=False), True),
        ("llama_lora_rslora", "llama", lambda: LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0,
                                                          target_modules=LLAMA_LINEAR, use_rslora=True,
                                                          init_lora_weights=False), True),
        ("llama_lora_patterns", "llama", lambda: LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0,
                                                            target_modules=["q_proj", "v_proj", "down_proj"],
                                                            rank_pattern={"down_proj": 2}, alpha_pattern={"q_proj": 16},
                                                            init_lora_weights=False), True),
        ("llama_dora", "llama", lambda: LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0,
                                                   target_modules=["q_proj", "v_proj"], use_dora=True,
                                                   init_lora_weights=False), True),
        ("qwen2_lora", "qwen2", lambda: LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, lora_dropout=0.0,
                                                   target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                                   init_lora_weights=False), True),
        ("gpt2_ia3", "gpt2", lambda: IA3Config(task_type="CAUSAL_LM", target_modules=["c_attn", "mlp.c_proj"],
                                               feedforward_modules=["mlp.c_proj"], fan_in_fan_out=True,
                                               init_ia3_weights=False), True),
        ("llama_ia3", "llama", lambda: IA3Config(task_type="CAUSAL_LM", target_modules=["k_proj", "v_proj", "down_proj"],
                                                 feedforward_modules=["down_proj"], init_ia3_weights=False), True),
        ("gpt2_prompt", "gpt2", lambda: PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4), False),
        ("llama_prompt", "llama", lambda: PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4), False),
        ("gpt2_prefix", "gpt2", lambda: PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3), False),
        ("llama_prefix", "llama", lambda: PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3), False),
        ("gpt2_ptuning", "gpt2", lambda: PromptEncoderConfig(task_type="CAUSAL_LM", num_virtual_tokens=4,
                                                            encoder_hidden_size=8), False),
    ]


def load_base(folder):
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32)
    except TypeError:  # transformers 4.x names it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", torch_dtype=torch.float32)
    model.eval()
    return model


def batch(rows, padded):
    ids = torch.tensor(rows, dtype=torch.int64)
    mask = (ids != 0).to(torch.int64) if padded else torch.ones_like(ids)
    tensors = {"input_ids": ids, "attention_mask": mask}
    if padded:  # positions count real tokens only, as make_reference.py gives them
        tensors["position_ids"] = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    return tensors


def logits_of(model, tensors):
    kwargs = {k: tensors[k] for k in ("input_ids", "attention_mask", "position_ids") if k in tensors}
    with torch.no_grad():
        return model(**kwargs, use_cache=False).logits.float().contiguous()


def tensor_notes(padded):
    notes = {
        "input_ids": "(B, T) int64" + ("; left-padded rows hold 0 where attention_mask is 0" if padded else ", no padding"),
        "attention_mask": "(B, T) int64 0/1",
        "logits": "(B, n + T, vocab) float32 of the PeftModel; n = num_virtual_tokens for prompt tuning and P-Tuning, else 0"
                  + ("; compare where attention_mask is 1" if padded else ""),
    }
    if padded:
        notes["position_ids"] = "(B, T) int64 given to the forward: cumsum(mask) - 1, padded slots 1"
    return notes


def write_from_peft(out_root, name, base, make_config, padded, seed):
    base_folder = os.path.join(HERE, base, "model")
    if not os.path.isdir(base_folder):
        raise FileNotFoundError(f"{base_folder}: run make_reference.py first")
    torch.manual_seed(seed)
    config = make_config()
    model = get_peft_model(load_base(base_folder), config)
    add_noise(model, seed + 1000, NOISE, trainable_only=True)
    model.eval()
    tensors = batch(PADDED if padded else FULL, padded)
    tensors["logits"] = logits_of(model, tensors)

    folder = os.path.join(out_root, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    save_adapter(model, os.path.join(folder, "adapter"), base_folder)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(folder, "reference.safetensors"),
              metadata={"format": "pt"})
    write_json(os.path.join(folder, "reference.json"), {
        "format_version": FORMAT_VERSION, "name": name, "direction": "from_peft", "base_fixture": base,
        "peft_type": str(config.peft_type.value if hasattr(config.peft_type, "value") else config.peft_type),
        "seed": seed, "noise": NOISE, "versions": versions(), "dtype": "float32", "attn_implementation": "eager",
        "padded": padded, "logits_tolerance": LOGITS_TOLERANCE, "tensors": tensor_notes(padded),
        "command": "python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_peft_reference.py",
    })
    print(f"from_peft/{name}: logits {tuple(tensors['logits'].shape)}, "
          f"adapter files {sorted(os.listdir(os.path.join(folder, 'adapter')))}")


def write_to_peft(out_root, case_folder):
    with open(os.path.join(case_folder, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    name = case["name"]
    ours = load_file(os.path.join(case_folder, "ours.safetensors"))
    model = PeftModel.from_pretrained(load_base(os.path.join(case_folder, "base")), os.path.join(case_folder, "adapter"))
    model.eval()
    tensors = {k: ours[k] for k in ("input_ids", "attention_mask", "position_ids") if k in ours}
    logits = logits_of(model, tensors)
    ours_logits = ours["logits"]
    if logits.shape != ours_logits.shape:
        difference = f"shape {tuple(logits.shape)} against ours {tuple(ours_logits.shape)}"
        max_difference = None
    else:
        real = tensors["attention_mask"].bool()
        if logits.shape[1] != real.shape[1]:  # virtual tokens in front count as real
            real = torch.cat([torch.ones(real.shape[0], logits.shape[1] - real.shape[1], dtype=torch.bool), real], 1)
        max_difference = float((logits - ours_logits).abs()[real].max())
        difference = f"max |peft - ours| {max_difference:.3e}"
    tensors["logits"] = logits

    folder = os.path.join(out_root, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    shutil.copytree(os.path.join(case_folder, "base"), os.path.join(folder, "base"))
    shutil.copytree(os.path.join(case_folder, "adapter"), os.path.join(folder, "adapter"))
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(folder, "reference.safetensors"),
              metadata={"format": "pt"})
    padded = bool(case.get("padded"))
    write_json(os.path.join(folder, "reference.json"), {
        "format_version": FORMAT_VERSION, "name": name, "direction": "to_peft", "peft_type": case.get("peft_type"),
        "versions": versions(), "dtype": "float32", "attn_implementation": "eager", "padded": padded,
        "logits_tolerance": LOGITS_TOLERANCE, "max_difference_from_ours_when_written": max_difference,
        "tensors": tensor_notes(padded),
        "command": "python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_peft_reference.py --ours DIR",
    })
    print(f"to_peft/{name}: {difference}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", help="folder of cases written by our code (base/, adapter/, ours.safetensors, case.json)")
    parser.add_argument("--out", default=os.path.join(HERE, "peft"), help="fixture root (default: peft/ beside this script)")
    args = parser.parse_args()
    torch.set_float32_matmul_precision("highest")
    print(" ".join(f"{k} {v}" for k, v in versions().items()), file=sys.stderr)

    failures = []
    for index, (name, base, make_config, padded) in enumerate(from_peft_cases()):
        try:
            write_from_peft(os.path.join(args.out, "from_peft"), name, base, make_config, padded, seed=500 + index)
        except Exception:  # keep going: one case's failure is a finding, not a reason to lose the others
            failures.append(name)
            print(f"from_peft/{name}: FAILED\n{traceback.format_exc()}")
    if args.ours:
        for case in sorted(os.listdir(args.ours)):
            try:
                write_to_peft(os.path.join(args.out, "to_peft"), os.path.join(args.ours, case))
            except Exception:
                failures.append(case)
                print(f"to_peft/{case}: FAILED\n{traceback.format_exc()}")
    print(f"{len(failures)} failed: {failures}" if failures else "all cases written")


if __name__ == "__main__":
    main()
