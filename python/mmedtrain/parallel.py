"""torch.distributed from torchrun's environment; FSDP2 per decoder layer, then the root."""

from __future__ import annotations

import datetime
import os
import socket

import torch
import torch.distributed as dist


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device). Without torchrun's variables, a single-process group."""
    if "RANK" not in os.environ:
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        # NCCL for the GPU tensors, gloo for CPU-side collectives (DCP metadata, barriers on CPU tensors)
        device, backend = torch.device("cuda", local), "cuda:nccl,cpu:gloo"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=30))
    return rank, world, device


def hf_model(model: torch.nn.Module) -> torch.nn.Module:
    """The transformers model inside a PEFT wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def decoder_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    base = hf_model(model)
    names = set(getattr(base, "_no_split_modules", None) or [])
    layers = [m for m in base.modules() if type(m).__name__ in names]
    if not layers:
        raise ValueError(f"{type(base).__name__}: found no decoder layers (_no_split_modules {sorted(names)})")
    return layers


def shard(model: torch.nn.Module, mixed_precision: str, activation_checkpointing: bool, reshard_after_forward: bool) -> None:
    """Activation checkpointing per decoder layer (transformers' non-reentrant), fully_shard per layer, then the root."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    base = hf_model(model)
    if activation_checkpointing:
        if hasattr(base, "activation_checkpointing_enable"):
            base.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    policy = (MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
              if mixed_precision == "bf16" else MixedPrecisionPolicy())
    for layer in decoder_layers(model):
        fully_shard(layer, mp_policy=policy, reshard_after_forward=reshard_after_forward)
    fully_shard(model, mp_policy=policy, reshard_after_forward=reshard_after_forward)


def set_gradient_sync(model: torch.nn.Module, enabled: bool) -> None:
    model.set_requires_gradient_sync(enabled)
