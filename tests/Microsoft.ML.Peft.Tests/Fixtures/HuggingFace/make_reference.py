#!/usr/bin/env python3
"""Writes the Hugging Face transformers reference fixtures that HuggingFaceParityTests compares our decoders with.

For each tiny random decoder (GPT-2; LLaMA with grouped-query attention and an untied head; Qwen2 with attention
biases and a tied head; LLaMA with linear and with Llama 3 RoPE scaling; Mistral with a sliding window of 4) it writes,
next to this script:

    <name>/model/                 the model as transformers saves it (config.json, model.safetensors, fp32)
    <name>/reference.safetensors  input_ids, attention_mask, position_ids (int64), logits (float32),
                                  greedy_cached and greedy_uncached (int64, generate() with use_cache True/False)
    <name>/reference.json         versions, settings and what each tensor means

Run from the repository root (needs python3 with torch, transformers and safetensors; no GPU needed):

    python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_reference.py

then commit the folders it wrote (see README.md beside it); --only NAME ... rewrites some of them.
"""

import argparse
import inspect
import json
import os
import platform
import shutil
import sys

import safetensors
import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig, MistralConfig, Qwen2Config

FORMAT_VERSION = 1
VOCAB = 100
PAD_ID = 0           # what left-padded positions hold, and what generate() writes after a row's end of sequence
BOS_ID = 1
EOS_ID = 2
MAX_NEW_TOKENS = 10
NOISE = 0.1          # added to every parameter after HF's init: no LayerNorm weight stays 1 and no bias stays 0
MIN_MARGIN = 1e-3    # smallest top-1 minus top-2 logit accepted at any greedy step, so float noise cannot flip a choice
LOGITS_TOLERANCE = 1e-4

# A fixed batch: a full row, a row left-padded by 3, a row left-padded by 5. Ids avoid PAD/BOS/EOS.
INPUT_IDS = [
    [17, 42, 8, 99, 23, 5, 61, 30],
    [PAD_ID, PAD_ID, PAD_ID, 11, 77, 3, 54, 90],
    [PAD_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID, 64, 12, 38],
]


def rope_kwargs(config_class, theta, scaling=None):
    """transformers 5 keeps rope_theta and the scaling inside rope_parameters; 4.x takes rope_theta and rope_scaling.
    Use whichever the class declares. scaling: None, or a dict with rope_type and its factors."""
    declared = set(inspect.signature(config_class.__init__).parameters) | set(getattr(config_class, "__annotations__", {}))
    if "rope_parameters" in declared:
        return {"rope_parameters": {"rope_type": "default", **(scaling or {}), "rope_theta": theta}}
    return {"rope_theta": theta, **({"rope_scaling": scaling} if scaling else {})}


def effective_rope_theta(config):
    parameters = getattr(config, "rope_parameters", None)
    if isinstance(parameters, dict) and "rope_theta" in parameters:
        return float(parameters["rope_theta"])
    return float(getattr(config, "rope_theta"))


def make_configs():
    # pad_token_id stays out of the configs (not every config class declares it); generate() is given it instead.
    common = dict(bos_token_id=BOS_ID, eos_token_id=EOS_ID)
    gpt2 = GPT2Config(
        vocab_size=VOCAB, n_positions=64, n_embd=32, n_layer=2, n_head=4, activation_function="gelu_new",
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5, initializer_range=0.2,
        tie_word_embeddings=True, **common)
    llama = LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, hidden_act="silu", max_position_embeddings=64, rms_norm_eps=1e-6,
        initializer_range=0.2, tie_word_embeddings=False, attention_bias=False, **rope_kwargs(LlamaConfig, 500000.0),
        **common)
    qwen2 = Qwen2Config(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, hidden_act="silu", max_position_embeddings=64, rms_norm_eps=1e-6,
        initializer_range=0.2, tie_word_embeddings=True, use_sliding_window=False, **rope_kwargs(Qwen2Config, 1000000.0),
        **common)
    # RoPE scaling on the LLaMA shape. Linear divides every position by the factor. Llama 3 leaves frequencies whose
    # wavelength is under original_max / high_freq_factor (4) alone, divides those over original_max /
    # low_freq_factor (16) by the factor and blends in between; with head_dim 8 and base 500000 the four wavelengths
    # (6.3, 26.6, 707, 18800) meet the blended and the divided branches.
    def scaled_llama(scaling):
        return LlamaConfig(
            vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, hidden_act="silu", max_position_embeddings=64, rms_norm_eps=1e-6,
            initializer_range=0.2, tie_word_embeddings=False, attention_bias=False,
            **rope_kwargs(LlamaConfig, 500000.0, scaling), **common)
    llama_rope_linear = scaled_llama({"rope_type": "linear", "factor": 2.0})
    llama_rope_llama3 = scaled_llama({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 16})
    # Mistral: sliding-window attention over the last 4 positions, so that the 8-token prompts and the generated
    # tokens reach past the window.
    mistral = MistralConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, hidden_act="silu", max_position_embeddings=64, rms_norm_eps=1e-6,
        initializer_range=0.2, tie_word_embeddings=False, sliding_window=4, **rope_kwargs(MistralConfig, 10000.0),
        **common)
    return {"gpt2": gpt2, "llama": llama, "qwen2": qwen2, "llama_rope_linear": llama_rope_linear,
            "llama_rope_llama3": llama_rope_llama3, "mistral": mistral}


def build_model(config, seed):
    torch.manual_seed(seed)
    try:
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    except TypeError:  # older 4.x: no attn_implementation argument
        config._attn_implementation = "eager"
        model = AutoModelForCausalLM.from_config(config)
    model = model.to(torch.float32)
    generator = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for _, parameter in model.named_parameters():  # tied weights appear once
            parameter.add_(torch.randn(parameter.shape, generator=generator) * NOISE)
    model.eval()
    implementation = getattr(model.config, "_attn_implementation", "eager")
    if implementation != "eager":
        raise RuntimeError(f"expected eager attention, got {implementation}")
    return model


def generate(model, ids, mask, use_cache):
    out = model.generate(
        input_ids=ids, attention_mask=mask, max_new_tokens=MAX_NEW_TOKENS, do_sample=False, num_beams=1,
        use_cache=use_cache, pad_token_id=PAD_ID, eos_token_id=EOS_ID, bos_token_id=BOS_ID,
        output_scores=True, return_dict_in_generate=True)
    new_ids = out.sequences[:, ids.shape[1]:]
    # Margin between the best and second-best score at every step of every row still generating.
    margin = float("inf")
    done = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
    for step, scores in enumerate(out.scores):
        top = scores.float().topk(2, dim=-1).values
        gaps = (top[:, 0] - top[:, 1])[~done]
        if gaps.numel() > 0:
            margin = min(margin, float(gaps.min()))
        done |= new_ids[:, step] == EOS_ID
    return new_ids, margin


def reference_for(name, config, seed, device):
    model = build_model(config, seed).to(device)
    ids = torch.tensor(INPUT_IDS, dtype=torch.int64, device=device)
    mask = (ids != PAD_ID).to(torch.int64)
    # Positions count real tokens only (what generate() derives from a left-padded mask); padded slots get 1.
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).logits.float()
        cached, margin_cached = generate(model, ids, mask, use_cache=True)
        uncached, margin_uncached = generate(model, ids, mask, use_cache=False)
    ok = torch.equal(cached, uncached) and min(margin_cached, margin_uncached) >= MIN_MARGIN
    tensors = {
        "input_ids": ids, "attention_mask": mask, "position_ids": positions, "logits": logits,
        "greedy_cached": cached, "greedy_uncached": uncached,
    }
    return model, {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, min(margin_cached, margin_uncached), ok


def write_fixture(root, name, config, first_seed, device, tries=20):
    for seed in range(first_seed, first_seed + tries):
        model, tensors, margin, ok = reference_for(name, config, seed, device)
        if ok:
            break
        print(f"{name}: seed {seed} rejected (greedy margin {margin:.2e} or cached != uncached), trying the next")
    else:
        raise RuntimeError(f"{name}: no seed in {first_seed}..{first_seed + tries - 1} gave a clear greedy path")

    folder = os.path.join(root, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    model_folder = os.path.join(folder, "model")
    model = model.to("cpu")
    try:
        model.save_pretrained(model_folder, safe_serialization=True)
    except TypeError:  # transformers 5 always writes safetensors and dropped the argument
        model.save_pretrained(model_folder)
    save_file(tensors, os.path.join(folder, "reference.safetensors"), metadata={"format": "pt"})

    reference = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "model_type": config.model_type,
        "seed": seed,
        "versions": {
            "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "safetensors": safetensors.__version__,
        },
        "device": str(device),
        "dtype": "float32",
        "attn_implementation": "eager",
        "tf32": False,
        "rope_theta": effective_rope_theta(config) if name != "gpt2" else None,
        "tie_word_embeddings": bool(config.tie_word_embeddings),
        "pad_token_id": PAD_ID,
        "eos_token_id": EOS_ID,
        "max_new_tokens": MAX_NEW_TOKENS,
        "min_greedy_margin": margin,
        "logits_tolerance": LOGITS_TOLERANCE,
        "tensors": {
            "input_ids": "(B, T) int64; left-padded rows hold pad_token_id where attention_mask is 0",
            "attention_mask": "(B, T) int64 0/1",
            "position_ids": "(B, T) int64 given explicitly to the forward: cumsum(mask) - 1, padded slots 1",
            "logits": "(B, T, vocab) float32 of model(input_ids, attention_mask, position_ids); compare where attention_mask is 1",
            "greedy_cached": "(B, max_new_tokens) int64 new ids of generate(do_sample=False, use_cache=True); after a row's "
                             "eos_token_id the rest is pad_token_id",
            "greedy_uncached": "(B, max_new_tokens) int64, the same with use_cache=False",
        },
        "model_files": sorted(os.listdir(model_folder)),
        "command": "python3 tests/Microsoft.ML.Peft.Tests/Fixtures/HuggingFace/make_reference.py",
    }
    with open(os.path.join(folder, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)
    print(f"{name}: seed {seed}, greedy margin {margin:.3e}, {size / 1024:.0f} KiB in {folder}")
    if size > 1024 * 1024:
        raise RuntimeError(f"{name}: fixture is {size} bytes, over 1 MiB; shrink the config")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda; the models are tiny, the CPU is enough")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)), help="fixture root (default: beside this script)")
    parser.add_argument("--only", nargs="*", choices=list(make_configs()), help="write only these fixtures")
    args = parser.parse_args()

    # Exact fp32: TF32 would round matmul inputs to 10 mantissa bits on Ampere and later GPUs.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    torch.use_deterministic_algorithms(True, warn_only=True)

    print(f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"safetensors {safetensors.__version__}, device {args.device}", file=sys.stderr)
    device = torch.device(args.device)
    for index, (name, config) in enumerate(make_configs().items()):
        if args.only and name not in args.only:
            continue
        write_fixture(args.out, name, config, first_seed=100 * (index + 1), device=device)


if __name__ == "__main__":
    main()
