"""Helpers shared by make_peft_reference.py and make_encoder_reference.py."""

import json
import os
import platform

import peft
import safetensors
import torch
import transformers

FORMAT_VERSION = 1
LOGITS_TOLERANCE = 1e-4
HERE = os.path.dirname(os.path.abspath(__file__))


def versions():
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "safetensors": safetensors.__version__}


def write_json(path, content):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(content, f, indent=2, default=str)
        f.write("\n")


def add_noise(model, seed, scale, trainable_only):
    """Adds N(0, scale) to every (trainable) parameter, from a generator of its own so the model's init stays seeded."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, parameter in model.named_parameters():
            if parameter.requires_grad or not trainable_only:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * scale)


def save_adapter(peft_model, folder, base_model_folder):
    """save_pretrained (the "default" adapter at the root of folder, any other in a subfolder named after it), then
    what makes the folders fit to commit: no model-card README (the loader needs none), and in every adapter config
    base_model_name_or_path relative to this folder's fixtures instead of the absolute path of the machine that ran it."""
    peft_model.save_pretrained(folder)
    os.remove(os.path.join(folder, "README.md"))
    for directory, _, files in os.walk(folder):
        if "adapter_config.json" not in files:
            continue
        config_path = os.path.join(directory, "adapter_config.json")
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        config["base_model_name_or_path"] = os.path.relpath(base_model_folder, HERE).replace(os.sep, "/")
        write_json(config_path, config)
