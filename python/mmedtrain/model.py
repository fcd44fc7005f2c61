"""Hugging Face Llama-family checkpoints: built on the meta device, sharded, then filled from safetensors."""

from __future__ import annotations

import json
import os

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


class ModelError(ValueError):
    pass


def hf_config(path: str, attn_implementation: str):
    from transformers import AutoConfig

    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ModelError(f"{path}/config.json: missing (model.path must be a Hugging Face model folder)")
    config = AutoConfig.from_pretrained(path)
    config.use_cache = False
    config._attn_implementation = attn_implementation
    return config


def build_meta(path: str, dtype: str, attn_implementation: str) -> torch.nn.Module:
    """The model's modules with parameters on the meta device (no memory), in `dtype`."""
    from transformers import AutoModelForCausalLM

    config = hf_config(path, attn_implementation)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=DTYPES[dtype], attn_implementation=attn_implementation)
    return model


def safetensors_files(path: str) -> list[str]:
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index) as handle:
            weight_map = json.load(handle).get("weight_map")
        if not isinstance(weight_map, dict):
            raise ModelError(f"{index}: no weight_map object")
        return [os.path.join(path, name) for name in sorted(set(weight_map.values()))]
    single = os.path.join(path, "model.safetensors")
    if os.path.isfile(single):
        return [single]
    raise ModelError(f"{path}: no model.safetensors or model.safetensors.index.json")


def read_weights(path: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Every tensor of the checkpoint on the CPU, converted to `dtype`."""
    from safetensors.torch import load_file

    weights: dict[str, torch.Tensor] = {}
    for file in safetensors_files(path):
        for name, tensor in load_file(file, device="cpu").items():
            weights[name] = tensor.to(dtype)
    return weights


def full_state_for(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """`weights` arranged by the model's state-dict keys; a tied output embedding is filled from the input one."""
    out = {}
    tied = getattr(model.config, "tie_word_embeddings", False)
    for key in model.state_dict().keys():
        if key in weights:
            out[key] = weights[key]
        elif tied and key.endswith("lm_head.weight") and "model.embed_tokens.weight" in weights:
            out[key] = weights["model.embed_tokens.weight"]
        else:
            raise ModelError(f"{source}: no tensor {key}")
    extra = sorted(set(weights) - set(out))
    if extra:
        raise ModelError(f"{source}: tensor {extra[0]} is not a parameter of {type(model).__name__}")
    for key, tensor in out.items():
        expected = tuple(model.state_dict()[key].shape)
        if tuple(tensor.shape) != expected:
            raise ModelError(f"{source}: tensor {key} has shape {tuple(tensor.shape)}, the model needs {expected}")
    return out


def reinit_buffers(model: torch.nn.Module, device: torch.device) -> None:
    """Recompute non-persistent buffers (rotary inverse frequencies) lost by building on the meta device."""
    for module in model.modules():
        if hasattr(module, "inv_freq") and hasattr(module, "config") and "Rotary" in type(module).__name__:
            with torch.device(device):
                fresh = type(module)(config=module.config)
            for name, buffer in fresh.named_buffers(recurse=False):
                getattr(module, name).copy_(buffer)
            module.attention_scaling = fresh.attention_scaling


def materialize(model: torch.nn.Module, device: torch.device, full_state: dict | None) -> None:
    """Allocate the (possibly FSDP-sharded) meta model on `device` and load `full_state` (given on rank 0 only)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    model.to_empty(device=device)
    reinit_buffers(model, device)
    set_model_state_dict(model, full_state if full_state is not None else {},
                         options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True))
