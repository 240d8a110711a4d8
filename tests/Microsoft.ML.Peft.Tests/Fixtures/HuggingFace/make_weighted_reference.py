#!/usr/bin/env python3
"""Writes the reference for PEFT's add_weighted_adapter (WeightedAdapterParityTests) on make_reference.py's llama base.

Two LoRA adapters of rank 4, "default" on q_proj and v_proj and "b" on q_proj, v_proj and o_proj, every factor moved
by N(0, 0.3) noise, are saved (peft/weighted/llama/adapters/ and adapters/b/), then combined with weights 0.7 and -0.4
by add_weighted_adapter as "cat" and as "linear"; reference.safetensors holds the padded batch of make_reference.py
and the logits of each combination (logits_cat, logits_linear), reference.json the settings and versions.

Run from the repository root after make_reference.py (needs torch, transformers, peft, safetensors; no GPU):

    python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_weighted_reference.py
"""

import os
import shutil

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from reference_common import FORMAT_VERSION, HERE, LOGITS_TOLERANCE, save_adapter, versions, write_json

WEIGHTS = [0.7, -0.4]
TYPES = ["cat", "linear"]


def main():
    torch.set_float32_matmul_precision("highest")
    print(" ".join(f"{k} {v}" for k, v in versions().items()))
    base_folder = os.path.join(HERE, "llama", "model")
    reference = load_file(os.path.join(HERE, "llama", "reference.safetensors"))
    inputs = {k: reference[k] for k in ("input_ids", "attention_mask", "position_ids")}
    base = AutoModelForCausalLM.from_pretrained(base_folder, attn_implementation="eager", dtype=torch.float32)

    torch.manual_seed(900)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False))
    model.add_adapter("b", LoraConfig(r=4, lora_alpha=16, lora_dropout=0.0,
                                      target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False))
    generator = torch.Generator().manual_seed(1900)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_A" in name or "lora_B" in name:   # both adapters, active or not
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.3)
    model.eval()

    folder = os.path.join(HERE, "peft", "weighted", "llama")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    adapters = os.path.join(folder, "adapters")
    save_adapter(model, adapters, base_folder)   # "default" at the root, "b" in adapters/b
    print("saved", sorted(os.listdir(adapters)), sorted(os.listdir(os.path.join(adapters, "b"))))

    tensors = dict(inputs)
    written = []
    for kind in TYPES:
        combined = f"combo_{kind}"
        try:
            model.add_weighted_adapter(["default", "b"], WEIGHTS, adapter_name=combined, combination_type=kind)
        except Exception as error:   # keep the other type; the test lists only what is written
            print(kind, "FAILED:", repr(error))
            continue
        model.set_adapter(combined)
        with torch.no_grad():
            tensors[f"logits_{kind}"] = model(**inputs, use_cache=False).logits.float().contiguous()
        written.append(kind)
        print(kind, tuple(tensors[f"logits_{kind}"].shape), float(tensors[f"logits_{kind}"].abs().max()))
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(folder, "reference.safetensors"),
              metadata={"format": "pt"})
    write_json(os.path.join(folder, "reference.json"), {
        "format_version": FORMAT_VERSION, "base_fixture": "llama", "adapters": ["default", "b"], "weights": WEIGHTS,
        "combination_types": written, "versions": versions(), "logits_tolerance": LOGITS_TOLERANCE,
        "tensors": "input_ids, attention_mask, position_ids: make_reference.py's padded batch; logits_<type>: (B, T, vocab) "
                   "float32 with add_weighted_adapter(['default', 'b'], weights, combination_type=<type>) active; "
                   "compare where attention_mask is 1",
        "command": "python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_weighted_reference.py",
    })


if __name__ == "__main__":
    main()
