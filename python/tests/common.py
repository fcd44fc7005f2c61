"""Shared pieces of the mmedtrain checks: fixture paths, config writer, metrics reader, torchrun launcher."""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYTHON_DIR)
SEQ_LEN, VOCAB, PAD = 32, 256, 0


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = PYTHON_DIR + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.setdefault("OMP_NUM_THREADS", "1")
    e["TOKENIZERS_PARALLELISM"] = "false"
    e["PYTHONHASHSEED"] = "0"
    return e


def make_config(run_dir, model_dir, data, world=1, micro=1, accum=4, steps=8, schedule="cosine", warmup=2,
                min_lr_ratio=0.0, lr=1e-3, weight_decay=0.1, max_grad_norm=1.0, normalization="global_tokens",
                pad_in_loss=False, activation_checkpointing=False, lora=None, every=4, keep=3, formats=(),
                mixed_precision="fp32", dtype="float32", seed=7):
    tokens, masks, sequences, supervised = data["tokens"], data["masks"], data["sequences"], data["supervised"]
    gbs = world * micro * accum
    spe = sequences // gbs
    epochs = max(1, -(-steps // spe))
    config = {
        "version": 1, "task": "pretrain",
        "recipe": {"name": "check", "file": "/dev/null", "sha256": "0" * 64},
        "run_dir": run_dir,
        "model": {"path": model_dir, "dtype": dtype, "attn_implementation": "sdpa"},
        "data": {"path": data["path"], "tokens": tokens, "loss_mask": masks, "sequences": sequences,
                 "sequence_length": SEQ_LEN, "pad_id": PAD, "vocab_size": VOCAB, "supervised_tokens": supervised},
        "batch": {"world_size": world, "micro_batch_size": micro, "gradient_accumulation_steps": accum,
                  "global_batch_size": gbs},
        "optimizer": {"name": "adamw", "lr": lr, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": weight_decay},
        "schedule": {"name": schedule, "warmup_steps": warmup, "min_lr_ratio": min_lr_ratio},
        "training": {"epochs": epochs, "steps_per_epoch": spe, "total_steps": steps, "seed": seed,
                     "max_grad_norm": max_grad_norm, "loss_normalization": normalization, "pad_in_loss": pad_in_loss,
                     "mixed_precision": mixed_precision, "activation_checkpointing": activation_checkpointing,
                     "reshard_after_forward": True, "nan_guard": True},
        "lora": lora,
        "checkpoint": {"every_steps": every, "keep": keep},
        "logging": {"every_steps": 1},
        "export": {"formats": list(formats), "max_shard_bytes": 200000},
    }
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, "config.json")
    with open(path, "w") as handle:
        json.dump(config, handle, indent=1)
    return path


def torchrun_cmd(nproc, *args):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *args]


def train(config_path, nproc, timeout=900):
    """Runs `python -m mmedtrain train` under torchrun; returns (rc, stderr tail)."""
    cmd = torchrun_cmd(nproc, "-m", "mmedtrain", "train", config_path)
    p = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=timeout)
    return p.returncode, (p.stderr or "")[-3000:]


def metrics(run_dir):
    """{step: record} of the last logged record of each step, plus the list of events."""
    steps, events = {}, []
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return steps, events
    with open(path) as handle:
        for line in handle:
            record = json.loads(line)
            if "event" in record:
                events.append(record)
            else:
                steps[record["step"]] = record
    return steps, events


def losses(run_dir):
    steps, _ = metrics(run_dir)
    return [steps[k]["loss"] for k in sorted(steps)]


def grad_norms(run_dir):
    steps, _ = metrics(run_dir)
    return [steps[k]["grad_norm"] for k in sorted(steps)]


def max_rel_diff(a, b):
    if len(a) != len(b) or not a:
        return float("inf")
    return max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b))


def max_diff(a, b):
    if len(a) != len(b) or not a:
        return float("inf")
    return max(abs(x - y) for x, y in zip(a, b))
