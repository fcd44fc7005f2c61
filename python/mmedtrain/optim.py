"""AdamW with the HF Trainer's no-decay groups and its warmup schedules (constant / linear / cosine)."""

from __future__ import annotations

import math
import re

import torch

# transformers' Trainer.get_decay_parameter_names: no decay for LayerNorm modules and names matching these patterns.
NO_DECAY_PATTERNS = [re.compile(p) for p in (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)")]


def decay_parameter_names(model: torch.nn.Module) -> set[str]:
    in_layer_norm = set()
    for module_name, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            for name, _ in module.named_parameters():
                in_layer_norm.add(f"{module_name}.{name}" if module_name else name)
    return {name for name, _ in model.named_parameters()
            if name not in in_layer_norm and not any(p.search(name.lower()) for p in NO_DECAY_PATTERNS)}


def build(model: torch.nn.Module, optimizer_config) -> torch.optim.Optimizer:
    decay = decay_parameter_names(model)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if n in decay], "weight_decay": optimizer_config.weight_decay},
        {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=optimizer_config.lr, betas=tuple(optimizer_config.betas), eps=optimizer_config.eps)


def lr_factor(step: int, name: str, warmup_steps: int, total_steps: int, min_lr_ratio: float) -> float:
    """Multiplier of the base learning rate for optimizer step `step` (0-based), as transformers' get_scheduler
    (constant_with_warmup, linear, cosine / cosine_with_min_lr with min_lr_rate) computes it."""
    if step < warmup_steps:
        return float(step) / float(max(1, warmup_steps))
    if name == "constant":
        return 1.0
    if name == "linear":
        factor = max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup_steps)))
        return factor * (1 - min_lr_ratio) + min_lr_ratio if min_lr_ratio else factor
    progress = float(step - warmup_steps) / float(max(1, total_steps - warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress))
    if min_lr_ratio:
        factor = factor * (1 - min_lr_ratio) + min_lr_ratio
    return max(0.0, factor)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
