#!/usr/bin/env python3
"""Pieces of Benchmarks/train/run-gpu: mmedtrain vs transformers.Trainer + accelerate FSDP2 on the same model and data.

    gpubench.py ours-config --run DIR --model DIR --data DIR --world N --micro M --accum A --steps S [--no-ac]
    gpubench.py accelerate-config --out FILE --world N [--no-ac] [--layer-cls LlamaDecoderLayer]
    gpubench.py hf --model DIR --data DIR --micro M --accum A --steps S --out PREFIX   (under `accelerate launch`)
    gpubench.py report --ours RUN --hf PREFIX --warmup W [--target 1.15]

Both sides: the same Hugging Face folder loaded in float32 (FSDP2 keeps float32 parameters, computes in bfloat16),
sdpa attention, the same Megatron windows in the same order (world size × micro-batch × accumulation laid out as
docs/training-config.md says; the HF side gets the same micro-batches because accelerate hands batch k·W + r of a
sequential sampler to rank r), activation checkpointing per decoder layer, AdamW lr 1e-5 constant, no weight decay,
grad-norm clipping at 1.0, loss normalised over the supervised tokens of the global batch, no checkpoint writing
in the timed steps, `torch.cuda.synchronize()` once at each step end on both sides before the time is taken.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "python"))

LR = 1e-5
SEED = 42


def load_data_info(data_dir: str) -> dict:
    with open(os.path.join(data_dir, "dataset.json")) as handle:
        return json.load(handle)


# ------------------------------------------------------------------------------------------------ ours

def ours_config(args) -> None:
    info = load_data_info(args.data)
    gbs = args.world * args.micro * args.accum
    spe = info["sequences"] // gbs
    if spe < 1:
        sys.exit(f"gpubench: {info['sequences']} sequences in {args.data} are fewer than one global batch ({gbs})")
    epochs = -(-args.steps // spe)
    run = os.path.abspath(args.run)
    config = {
        "version": 1, "task": "pretrain",
        "recipe": {"name": "bench-train-gpu", "file": os.path.abspath(__file__), "sha256": "0" * 64},
        "run_dir": run,
        "model": {"path": os.path.abspath(args.model), "dtype": "float32", "attn_implementation": "sdpa"},
        "data": {k: info[k] for k in ("path", "tokens", "loss_mask", "sequences", "sequence_length", "pad_id",
                                      "vocab_size", "supervised_tokens")},
        "batch": {"world_size": args.world, "micro_batch_size": args.micro, "gradient_accumulation_steps": args.accum,
                  "global_batch_size": gbs},
        "optimizer": {"name": "adamw", "lr": LR, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
        "schedule": {"name": "constant", "warmup_steps": 0, "min_lr_ratio": 0.0},
        "training": {"epochs": epochs, "steps_per_epoch": spe, "total_steps": args.steps, "seed": SEED,
                     "max_grad_norm": 1.0, "loss_normalization": "global_tokens", "pad_in_loss": False,
                     "mixed_precision": args.mixed_precision, "activation_checkpointing": not args.no_ac,
                     "reshard_after_forward": True, "nan_guard": True},
        "lora": None,
        "checkpoint": {"every_steps": args.steps, "keep": 1},
        "logging": {"every_steps": 1},
        "export": {"formats": [], "max_shard_bytes": 5_000_000_000},
    }
    os.makedirs(run, exist_ok=True)
    path = os.path.join(run, "config.json")
    with open(path, "w") as handle:
        json.dump(config, handle, indent=1)
    from mmedtrain import config as config_mod  # the trainer's own strict parser accepts it

    config_mod.load(path)
    print(path)


# ------------------------------------------------------------------------------------------------ accelerate

def accelerate_config(args) -> None:
    lines = [
        "# accelerate FSDP2 config written by Benchmarks/train/gpubench.py",
        "compute_environment: LOCAL_MACHINE",
        "distributed_type: FSDP",
        "downcast_bf16: 'no'",
        "mixed_precision: " + ("bf16" if args.mixed_precision == "bf16" else "'no'"),
        "machine_rank: 0",
        "main_training_function: main",
        "num_machines: 1",
        f"num_processes: {args.world}",
        "rdzv_backend: static",
        "same_network: true",
        "use_cpu: false",
        "fsdp_config:",
        "  fsdp_version: 2",
        "  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP",
        f"  fsdp_transformer_layer_cls_to_wrap: {args.layer_cls}",
        "  fsdp_reshard_after_forward: true",
        f"  fsdp_activation_checkpointing: {'false' if args.no_ac else 'true'}",
        "  fsdp_cpu_ram_efficient_loading: false",
        "  fsdp_offload_params: false",
        "  fsdp_state_dict_type: SHARDED_STATE_DICT",
    ]
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print(args.out)


# ------------------------------------------------------------------------------------------------ HF Trainer

def hf(args) -> None:
    import numpy as np
    import torch
    from torch.utils.data import Dataset, SequentialSampler
    from transformers import AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments, default_data_collator

    from mmedtrain import data as data_mod
    from mmedtrain.sampler import GlobalOrder

    info = load_data_info(args.data)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    gbs = world * args.micro * args.accum
    spe = info["sequences"] // gbs
    order = GlobalOrder(info["sequences"], gbs, spe, SEED)
    L, pad = info["sequence_length"], info["pad_id"]
    reader = data_mod.TokenMaskDataset(info["path"], info["tokens"], info["loss_mask"])

    class Windows(Dataset):
        """Item i = the i-th sequence of mmedtrain's order (global batches back to back), as an HF sample."""

        def __len__(self):
            return args.steps * gbs

        def __getitem__(self, i):
            step, position = divmod(i, gbs)
            index = int(order.global_batch(step)[position])
            tokens, mask = reader[index]
            n = len(tokens)
            ids = torch.full((L,), pad, dtype=torch.long)
            labels = torch.full((L,), -100, dtype=torch.long)
            ids[:n] = torch.from_numpy(tokens.astype(np.int64))
            labels[:n] = torch.where(torch.from_numpy(mask != 0), ids[:n], -100)
            return {"input_ids": ids, "labels": labels}

    ends: list[float] = []

    class Clock(TrainerCallback):
        def on_train_begin(self, a, state, control, **kw):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            ends.append(time.perf_counter())

        def on_step_end(self, a, state, control, **kw):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            ends.append(time.perf_counter())

    class Sequential(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            return SequentialSampler(train_dataset if train_dataset is not None else self.train_dataset)

    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation="sdpa")
    model.config.use_cache = False
    targs = TrainingArguments(
        output_dir=args.out + ".trainer", per_device_train_batch_size=args.micro,
        gradient_accumulation_steps=args.accum, max_steps=args.steps, learning_rate=LR, lr_scheduler_type="constant",
        warmup_steps=0, weight_decay=0.0, adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, max_grad_norm=1.0,
        bf16=args.mixed_precision == "bf16", logging_steps=1, save_strategy="no", report_to=[], seed=SEED,
        dataloader_num_workers=0, remove_unused_columns=False, disable_tqdm=True, optim=args.optim,
        use_cpu=False)
    trainer = Sequential(model=model, args=targs, train_dataset=Windows(), data_collator=default_data_collator,
                         callbacks=[Clock()])
    out = trainer.train()
    from torch.distributed.fsdp import FSDPModule

    wrapped = trainer.model_wrapped if trainer.model_wrapped is not None else trainer.model
    modules = list(wrapped.modules())
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    result = {"rank": rank, "world_size": world, "micro_batch_size": args.micro, "gradient_accumulation_steps": args.accum,
              "sequence_length": L, "steps": args.steps, "step_end_times": [t - ends[0] for t in ends[1:]],
              "losses": losses, "train_runtime": out.metrics.get("train_runtime"), "optim": args.optim,
              "mixed_precision": args.mixed_precision,
              "fsdp2_modules": sum(isinstance(m, FSDPModule) for m in modules),
              "checkpointed_modules": sum("CheckpointWrapper" in type(m).__name__ for m in modules),
              "accelerate_distributed_type": str(trainer.accelerator.distributed_type),
              "max_memory_allocated":
                  torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0,
              "max_memory_reserved": torch.cuda.max_memory_reserved() if torch.cuda.is_available() else 0,
              "torch": torch.__version__, "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"}
    with open(f"{args.out}.rank{rank}.json", "w") as handle:
        json.dump(result, handle)


# ------------------------------------------------------------------------------------------------ report

def steady_rate(ends: list[float], warmup: int, tokens_per_step: int) -> tuple[float, list[float]]:
    """Tokens/s over steps warmup+1 ... last, from step end times (ends[k] = end of step k+1), and those step times."""
    if warmup < 1 or len(ends) <= warmup + 1:
        raise SystemExit(f"gpubench: {len(ends)} steps logged; need warm-up ≥ 1 and more than warm-up + 1 steps")
    per_step = [b - a for a, b in zip(ends[warmup - 1:-1], ends[warmup:])]
    return tokens_per_step * len(per_step) / (ends[-1] - ends[warmup - 1]), per_step


def report(args) -> None:
    # ours: per-rank step-end clocks and data wait (timed_train.py), peak memory per rank
    with open(os.path.join(args.ours, "config.json")) as handle:
        cfg = json.load(handle)
    b = cfg["batch"]
    L = cfg["data"]["sequence_length"]
    tokens_per_gpu_step = b["micro_batch_size"] * b["gradient_accumulation_steps"] * L
    rows = []
    ours_ranks = sorted(glob.glob(os.path.join(args.ours, "data_wait_rank_*.jsonl")))
    peaks = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(args.ours, "peak_memory_rank_*.json")))]
    if not ours_ranks or len(peaks) != b["world_size"]:
        raise SystemExit(f"gpubench: {args.ours} lacks data_wait_rank_*.jsonl or peak_memory_rank_*.json (ours did not finish)")
    records = [json.loads(l) for l in open(ours_ranks[0])]
    ours_rate, ours_steps = steady_rate([r["end_s"] for r in records], args.warmup, tokens_per_gpu_step)
    waits = [r["data_wait_s"] for r in records[args.warmup:]]
    step_s = ours_steps
    ours_peak = max(p["max_memory_allocated"] for p in peaks)
    rows.append(("ours (mmedtrain)", ours_rate, ours_peak, ours_steps))
    hf_ranks = [json.load(open(p)) for p in sorted(glob.glob(args.hf + ".rank*.json"))]
    if not hf_ranks:
        raise SystemExit(f"gpubench: no {args.hf}.rank*.json (the HF run did not finish)")
    h0 = hf_ranks[0]
    if (h0["micro_batch_size"], h0["gradient_accumulation_steps"], h0["sequence_length"], h0["world_size"]) != \
            (b["micro_batch_size"], b["gradient_accumulation_steps"], L, b["world_size"]):
        raise SystemExit("gpubench: the two runs do not have the same micro-batch, accumulation, length and world size")
    if not h0.get("fsdp2_modules") or (cfg["training"]["activation_checkpointing"] and not h0.get("checkpointed_modules")):
        print(f"WARNING: the HF run was not FSDP2 with activation checkpointing ({h0.get('accelerate_distributed_type')}, "
              f"{h0.get('fsdp2_modules')} FSDP2 modules, {h0.get('checkpointed_modules')} checkpointed); its figures are "
              "not the peer's (expected on a CPU dry run)", file=sys.stderr)
        bad_peer = True
    else:
        bad_peer = False
    hf_rate, hf_steps = steady_rate(h0["step_end_times"], args.warmup, tokens_per_gpu_step)
    hf_peak = max(h["max_memory_allocated"] for h in hf_ranks)
    rows.append(("HF Trainer + accelerate FSDP2", hf_rate, hf_peak, hf_steps))

    gib = 2 ** 30
    print(f"\n{b['world_size']} GPU(s) ({h0['device']}, torch {h0['torch']}), micro-batch {b['micro_batch_size']} × "
          f"accumulation {b['gradient_accumulation_steps']} × {L} tokens per GPU and step, "
          f"{cfg['training']['mixed_precision']}, activation checkpointing "
          f"{'on' if cfg['training']['activation_checkpointing'] else 'off'}; steady state = steps "
          f"{args.warmup + 1}..{cfg['training']['total_steps']}\n")
    print("| side | tokens/s per GPU | median step s | peak memory GiB (max over ranks) |")
    print("| --- | ---: | ---: | ---: |")
    for name, rate, peak, steps in rows:
        med = f"{statistics.median(steps):.3f}" if steps else "-"
        print(f"| {name} | {rate:,.0f} | {med} | {peak / gib:.2f} |")
    speed = ours_rate / hf_rate
    memory = ours_peak / hf_peak if hf_peak else None
    print(f"| ours/HF | {speed:.3f}x | | {f'{memory:.3f}x' if memory is not None else '-'} |")
    print(f"\ntarget: ours ≥ {args.target}× HF tokens/s and peak memory no higher → speed "
          f"{'met' if speed >= args.target else 'NOT met'}, memory "
          f"{'n/a (no CUDA memory figures)' if memory is None else 'met' if memory <= 1.0 else 'NOT met'}")
    if waits and step_s:
        frac = sum(waits) / sum(step_s)
        print(f"ours, rank 0: data wait (make_batch, host-to-device copy included) {sum(waits) / len(waits) * 1e3:.2f} ms "
              f"per step = {frac * 100:.3f}% of step time (target < 1%: {'met' if frac < 0.01 else 'NOT met'})")
    print(f"HF: {h0.get('accelerate_distributed_type')}, {h0.get('fsdp2_modules')} FSDP2 modules, "
          f"{h0.get('checkpointed_modules')} activation-checkpointed modules, optim {h0.get('optim')}")
    hl = h0.get("losses") or []
    ol = [json.loads(l).get("loss") for l in open(os.path.join(args.ours, "metrics.jsonl")) if '"loss"' in l]
    if hl and ol:
        print(f"loss at step 1 / last: ours {ol[0]:.4f} / {ol[-1]:.4f}, HF {hl[0]:.4f} / {hl[-1]:.4f} (same data, "
              "should be close; they differ in optimizer implementation and bf16 reduction)")
    if bad_peer and not args.dry_run:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    oc = sub.add_parser("ours-config")
    oc.add_argument("--run", required=True)
    oc.add_argument("--model", required=True)
    oc.add_argument("--data", required=True)
    ac = sub.add_parser("accelerate-config")
    ac.add_argument("--out", required=True)
    ac.add_argument("--layer-cls", default="LlamaDecoderLayer")
    hp = sub.add_parser("hf")
    hp.add_argument("--model", required=True)
    hp.add_argument("--data", required=True)
    hp.add_argument("--out", required=True, help="result prefix: PREFIX.rankK.json")
    hp.add_argument("--optim", default="adamw_torch_fused", help="TrainingArguments.optim (default: the Trainer's own)")
    for p in (oc, ac):
        p.add_argument("--world", type=int, required=True)
    for p in (oc, hp):
        p.add_argument("--micro", type=int, required=True)
        p.add_argument("--accum", type=int, required=True)
        p.add_argument("--steps", type=int, required=True)
    for p in (oc, ac, hp):
        p.add_argument("--no-ac", action="store_true", help="no activation checkpointing")
        p.add_argument("--mixed-precision", choices=["bf16", "fp32"], default="bf16")
    rp = sub.add_parser("report")
    rp.add_argument("--ours", required=True, help="our RUN folder")
    rp.add_argument("--hf", required=True, help="the HF result prefix")
    rp.add_argument("--warmup", type=int, default=10)
    rp.add_argument("--target", type=float, default=1.15)
    rp.add_argument("--dry-run", action="store_true", help="a CPU plumbing check: do not fail when HF is not FSDP2")
    args = ap.parse_args()
    for k in ("world", "micro", "accum", "steps"):
        if getattr(args, k, 1) < 1:
            ap.error(f"--{k} must be positive")
    {"ours-config": ours_config, "accelerate-config": accelerate_config, "hf": hf, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
