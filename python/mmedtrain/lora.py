"""PEFT LoRA on the modules named in config.lora; only the adapter parameters are trainable."""

from __future__ import annotations

import math

import torch


class LoraError(ValueError):
    pass


def apply(model: torch.nn.Module, lora_config, source: str = "config.json"):
    from peft import LoraConfig, get_peft_model

    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    for target in lora_config.target_modules:
        if target not in names:
            raise LoraError(f"{source}: lora.target_modules: {target!r} names no module of {type(model).__name__}")
    config = LoraConfig(r=lora_config.r, lora_alpha=lora_config.alpha, lora_dropout=lora_config.dropout,
                        target_modules=list(lora_config.target_modules), bias="none", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    for name, parameter in peft_model.named_parameters():
        parameter.requires_grad_("lora_" in name)
    return peft_model


def base_key(key: str) -> str:
    """The base checkpoint's name of a PEFT state-dict key (base_model.model.X.base_layer.weight → X.weight)."""
    if key.startswith("base_model.model."):
        key = key[len("base_model.model."):]
    return key.replace(".base_layer.", ".")


def full_state(peft_model: torch.nn.Module, base: dict[str, torch.Tensor], seed: int, dtype: torch.dtype,
               source: str) -> dict[str, torch.Tensor]:
    """Base weights under their PEFT names, A matrices drawn like nn.Linear (Kaiming uniform, a=√5), B zero."""
    generator = torch.Generator().manual_seed(seed)
    out = {}
    tied = getattr(peft_model.config, "tie_word_embeddings", False)
    for key, meta in peft_model.state_dict().items():
        if "lora_A" in key:
            tensor = torch.empty(meta.shape, dtype=torch.float32)
            torch.nn.init.kaiming_uniform_(tensor, a=math.sqrt(5), generator=generator)
            out[key] = tensor.to(dtype)
        elif "lora_B" in key:
            out[key] = torch.zeros(meta.shape, dtype=dtype)
        else:
            name = base_key(key)
            if name not in base and tied and name.endswith("lm_head.weight"):
                name = "model.embed_tokens.weight"
            if name not in base:
                raise LoraError(f"{source}: no tensor {name}")
            out[key] = base[name]
    return out
