"""RUN/checkpoints/step_NNNNNNNN/: DCP shards of model and optimizer, trainer_state.json, COMPLETE last.

Written into step_NNNNNNNN.partial, renamed once COMPLETE is there; `.partial` folders are ignored and removed on
resume; only the newest `keep` complete checkpoints stay.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

STEP_DIR = re.compile(r"^step_(\d{8})$")


def folder(run_dir: str) -> str:
    return os.path.join(run_dir, "checkpoints")


def step_path(run_dir: str, step: int) -> str:
    return os.path.join(folder(run_dir), f"step_{step:08d}")


def complete_steps(run_dir: str) -> list[int]:
    root = folder(run_dir)
    if not os.path.isdir(root):
        return []
    steps = []
    for name in os.listdir(root):
        match = STEP_DIR.match(name)
        if match and os.path.isfile(os.path.join(root, name, "COMPLETE")):
            steps.append(int(match.group(1)))
    return sorted(steps)


def remove_partials(run_dir: str) -> list[str]:
    root = folder(run_dir)
    removed = []
    if os.path.isdir(root):
        for name in sorted(os.listdir(root)):
            if name.endswith(".partial"):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
                removed.append(name)
    return removed


def save(model, optimizer, run_dir: str, step: int, trainer_state: dict, keep: int, rank: int) -> str:
    final = step_path(run_dir, step)
    partial = final + ".partial"
    if rank == 0:
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
    dist.barrier()
    model_state, optim_state = get_state_dict(model, optimizer)
    dcp.save({"model": model_state, "optim": optim_state}, checkpoint_id=partial)
    dist.barrier()
    if rank == 0:
        with open(os.path.join(partial, "trainer_state.json"), "w") as handle:
            json.dump(trainer_state, handle, indent=1)
        with open(os.path.join(partial, "COMPLETE"), "w") as handle:
            handle.write(f"{step}\n")
        if os.path.exists(final):
            shutil.rmtree(final)
        os.rename(partial, final)
        for old in complete_steps(run_dir)[:-keep]:
            shutil.rmtree(step_path(run_dir, old), ignore_errors=True)
    dist.barrier()
    return final


def read_state(path: str) -> dict:
    file = os.path.join(path, "trainer_state.json")
    try:
        with open(file) as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"{file}: unreadable ({error})") from None


def load(model, optimizer, path: str) -> dict:
    """Loads model and optimizer shards (resharding to this world size) from a complete checkpoint."""
    model_state, optim_state = get_state_dict(model, optimizer)
    state = {"model": model_state, "optim": optim_state}
    dcp.load(state, checkpoint_id=path)
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    return read_state(path)


def load_model_only(model: torch.nn.Module, path: str) -> None:
    """Single-process load of a checkpoint's model tensors into an ordinary (unsharded) model, for export."""
    if not os.path.isfile(os.path.join(path, "COMPLETE")):
        raise ValueError(f"{path}: not a complete checkpoint (no COMPLETE marker)")
    state = {"model": {k: v for k, v in model.state_dict().items()}}
    dcp.load(state, checkpoint_id=path, no_dist=True)
    model.load_state_dict(state["model"])
