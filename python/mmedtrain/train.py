"""The training loop: `python -m mmedtrain train RUN/config.json`, one process per GPU under torchrun."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from . import checkpoint, config as config_mod, data as data_mod, lora as lora_mod, model as model_mod, optim, parallel
from .sampler import GlobalOrder

IGNORE = -100
REQUEST_FILE = "CHECKPOINT_REQUEST"


class TrainingError(RuntimeError):
    pass


def labels_for(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """HF-style (unshifted) labels: the token where the loss mask trains its prediction, else -100. The mask alone
    decides: the data's own padding is 0 there (1 when prepared with the published mask), and judging padding by the
    pad id would also drop real EOS targets where the pad id is the EOS (Llama 2/3 have no pad token)."""
    return np.where(mask != 0, tokens.astype(np.int64), IGNORE)


def make_batch(dataset, indices, length: int, pad_id: int, pad_in_loss: bool, vocab_size: int, device):
    """(input_ids, labels) of shape (len(indices), length); shorter sequences padded with pad_id, supervised only
    with `pad_in_loss` (the published pretraining trained on its padding)."""
    ids = np.full((len(indices), length), pad_id, dtype=np.int64)
    labels = np.full((len(indices), length), pad_id if pad_in_loss else IGNORE, dtype=np.int64)
    for row, index in enumerate(indices):
        tokens, mask = dataset[int(index)]
        n = len(tokens)
        if n and (int(tokens.max()) >= vocab_size or int(tokens.min()) < 0):
            raise TrainingError(f"data.vocab_size: sequence {int(index)} holds token id {int(tokens.max())} outside 0..<{vocab_size}")
        ids[row, :n] = tokens
        labels[row, :n] = labels_for(tokens, mask)
    return torch.from_numpy(ids).to(device), torch.from_numpy(labels).to(device)


def token_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Σ cross-entropy of next-token predictions over supervised positions (as transformers' ForCausalLMLoss)."""
    logits = logits.float()
    shifted = F.pad(labels, (0, 1), value=IGNORE)[..., 1:].contiguous()
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), shifted.reshape(-1).to(logits.device),
                           ignore_index=IGNORE, reduction="sum")


def supervised_count(labels: torch.Tensor) -> int:
    return int((labels[..., 1:] != IGNORE).sum())


def micro_seed(seed: int, step: int, position: int) -> int:
    return (seed * 1_000_003 + step * 100_003 + position) % (2 ** 63)


def test_hook() -> tuple[str | None, int]:
    """MMEDTRAIN_TEST_HOOK (for the checks only): "pause:N" holds every rank after step N until it is killed or
    RUN/CHECKPOINT_REQUEST appears (then the request is taken at the next step boundary, as it would be mid-run);
    "request:N" writes RUN/CHECKPOINT_REQUEST after step N, as the Slurm signal handler would."""
    value = os.environ.get("MMEDTRAIN_TEST_HOOK")
    if not value:
        return None, -1
    kind, _, step = value.partition(":")
    if kind not in ("pause", "request") or not step.isdigit():
        raise TrainingError(f"MMEDTRAIN_TEST_HOOK: {value!r} is not pause:N or request:N")
    return kind, int(step)


def setup_logging(run_dir: str, rank: int) -> logging.Logger:
    os.makedirs(os.path.join(run_dir, "logs"), exist_ok=True)
    logger = logging.getLogger(f"mmedtrain.rank{rank}")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    handler = logging.FileHandler(os.path.join(run_dir, "logs", f"rank_{rank}.log"))
    handler.setFormatter(logging.Formatter("%(asctime)s rank" + str(rank) + " %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    return logger


class Metrics:
    def __init__(self, run_dir: str, rank: int):
        self.path = os.path.join(run_dir, "metrics.jsonl")
        self.rank = rank

    def write(self, record: dict) -> None:
        if self.rank != 0:
            return
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        with open(self.path, "a") as handle:
            handle.write(json.dumps(clean, allow_nan=False) + "\n")
            handle.flush()


def build_model(cfg, rank: int, device):
    """The sharded model, filled with the checkpoint's weights (and fresh LoRA adapters)."""
    dtype = model_mod.DTYPES[cfg.model.dtype]
    model = model_mod.build_meta(cfg.model.path, cfg.model.dtype, cfg.model.attn_implementation)
    if model.config.vocab_size != cfg.data.vocab_size:
        raise TrainingError(f"data.vocab_size is {cfg.data.vocab_size}, {cfg.model.path}/config.json has vocab_size {model.config.vocab_size}")
    if cfg.lora is not None:
        model = lora_mod.apply(model, cfg.lora)
    full = None
    if rank == 0:
        weights = model_mod.read_weights(cfg.model.path, dtype)
        if cfg.lora is not None:
            full = lora_mod.full_state(model, weights, cfg.training.seed, dtype, cfg.model.path)
        else:
            full = model_mod.full_state_for(model, weights, cfg.model.path)
    parallel.shard(model, cfg.training.mixed_precision, cfg.training.activation_checkpointing,
                   cfg.training.reshard_after_forward)
    model_mod.materialize(model, device, full)
    return model


def grad_norm(parameters) -> torch.Tensor:
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    norm = torch.nn.utils.get_total_norm(grads, 2.0)
    if hasattr(norm, "full_tensor"):
        norm = norm.full_tensor()
    return norm


def run(config_path: str, keep_process_group: bool = False) -> int:
    """Trains per config; `keep_process_group` leaves torch.distributed up for another run in the same processes."""
    cfg = config_mod.load(config_path)
    rank, world, device = parallel.init_distributed()
    log = setup_logging(cfg.run_dir, rank)
    try:
        return _train(cfg, rank, world, device, log)
    except BaseException as error:
        log.exception("failed: %s", error)
        raise
    finally:
        if dist.is_initialized() and not keep_process_group:
            dist.destroy_process_group()


def _train(cfg, rank, world, device, log) -> int:
    b, t = cfg.batch, cfg.training
    if world != b.world_size:
        raise TrainingError(f"batch.world_size is {b.world_size}, torchrun started {world} processes")
    metrics = Metrics(cfg.run_dir, rank)
    log.info("pid %d, world %d, device %s, config %s", os.getpid(), world, device, cfg.run_dir)
    hook_kind, hook_step = test_hook()
    dataset = data_mod.open_config_data(cfg.data)
    order = GlobalOrder(cfg.data.sequences, b.global_batch_size, t.steps_per_epoch, t.seed)
    torch.manual_seed(t.seed)
    model = build_model(cfg, rank, device)
    model.train()
    optimizer = optim.build(model, cfg.optimizer)
    trainable = [p for p in model.parameters() if p.requires_grad]

    start = 0
    if rank == 0:
        for name in checkpoint.remove_partials(cfg.run_dir):
            log.info("removed unfinished checkpoint %s", name)
    dist.barrier()
    steps = checkpoint.complete_steps(cfg.run_dir)
    if steps:
        path = checkpoint.step_path(cfg.run_dir, steps[-1])
        state = checkpoint.load(model, optimizer, path)
        if state.get("global_batch_size") != b.global_batch_size or state.get("seed") != t.seed:
            raise TrainingError(f"{path}/trainer_state.json: global batch {state.get('global_batch_size')} / seed "
                                f"{state.get('seed')} differ from config.json's {b.global_batch_size} / {t.seed}")
        start = int(state["step"])
        log.info("resumed from %s (step %d, saved by %s ranks)", path, start, state.get("world_size"))
        metrics.write({"event": "resumed", "step": start, "path": path, "world_size": world})

    def state_at(step: int) -> dict:
        epoch, inner = order.position(step)
        return {"step": step, "epoch": step / t.steps_per_epoch, "sampler": {"epoch": epoch, "step_in_epoch": inner},
                "world_size": world, "global_batch_size": b.global_batch_size, "seed": t.seed,
                "rng": {"scheme": "torch.manual_seed(micro_seed(seed, step, first position)) before each micro-batch"}}

    def save(step: int) -> None:
        path = checkpoint.save(model, optimizer, cfg.run_dir, step, state_at(step), cfg.checkpoint.keep, rank)
        log.info("checkpoint %s", path)
        metrics.write({"event": "checkpoint", "step": step, "path": path})

    request = os.path.join(cfg.run_dir, REQUEST_FILE)
    began = time.time()
    nan_streak = 0
    last_saved = start if steps else -1
    for step in range(start, t.total_steps):
        flag = torch.tensor([1 if (rank == 0 and os.path.exists(request)) else 0], device=device)
        dist.broadcast(flag, src=0)
        if flag.item():
            if last_saved != step:
                save(step)
            if rank == 0:
                os.remove(request)
            metrics.write({"event": "preempted", "step": step})
            log.info("preempted at step %d", step)
            return 0

        step_began = time.time()
        lr = cfg.optimizer.lr * optim.lr_factor(step, cfg.schedule.name, cfg.schedule.warmup_steps, t.total_steps,
                                                cfg.schedule.min_lr_ratio)
        optim.set_lr(optimizer, lr)
        batches = []
        for m in range(b.gradient_accumulation_steps):
            indices = order.micro_batch(step, m, rank, world, b.micro_batch_size)
            ids, labels = make_batch(dataset, indices, cfg.data.sequence_length, cfg.data.pad_id, t.pad_in_loss,
                                     cfg.data.vocab_size, device)
            batches.append((m, ids, labels))
        counts = torch.tensor([sum(supervised_count(l) for _, _, l in batches), sum(int(i.numel()) for _, i, _ in batches)],
                              dtype=torch.int64, device=device)
        dist.all_reduce(counts)
        supervised, tokens = int(counts[0]), int(counts[1])

        loss_total = torch.zeros((), dtype=torch.float64, device=device)
        for m, ids, labels in batches:
            parallel.set_gradient_sync(model, m == b.gradient_accumulation_steps - 1)
            torch.manual_seed(micro_seed(t.seed, step, order.first_position(m, rank, world, b.micro_batch_size)))
            logits = model(input_ids=ids).logits
            summed = token_loss_sum(logits, labels)
            if t.loss_normalization == "global_tokens":
                loss = summed / max(supervised, 1)
                (loss * world).backward()  # FSDP averages gradients over ranks; the target is their sum
            else:
                loss = summed / max(supervised_count(labels), 1) / b.gradient_accumulation_steps
                loss.backward()
            loss_total += loss.detach().to(torch.float64)
            del logits, summed, loss
        dist.all_reduce(loss_total)
        if t.loss_normalization == "per_micro_batch":
            loss_total /= world
        loss_value = float(loss_total)

        norm = grad_norm(trainable)
        norm_value = float(norm)
        finite = math.isfinite(loss_value) and math.isfinite(norm_value)
        skipped = supervised == 0 or (t.nan_guard and not finite)
        if not skipped:
            if t.max_grad_norm > 0:
                torch.nn.utils.clip_grads_with_norm_(trainable, t.max_grad_norm, norm)
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if t.nan_guard and not finite:
            nan_streak += 1
            metrics.write({"event": "nan", "step": step + 1, "loss": loss_value if math.isfinite(loss_value) else str(loss_value),
                           "grad_norm": norm_value if math.isfinite(norm_value) else str(norm_value)})
            log.warning("step %d: non-finite loss %s or grad norm %s, skipped", step + 1, loss_value, norm_value)
            if nan_streak >= 3:
                raise TrainingError(f"training.nan_guard: 3 non-finite steps in a row (last step {step + 1})")
        else:
            nan_streak = 0

        done = step + 1
        now = time.time()
        if done % cfg.logging.every_steps == 0 or done == t.total_steps:
            metrics.write({"step": done, "epoch": done / t.steps_per_epoch, "loss": loss_value, "lr": lr,
                           "grad_norm": norm_value, "tokens": tokens, "supervised_tokens": supervised,
                           "tokens_per_s": tokens / max(now - step_began, 1e-9), "elapsed_s": now - began,
                           "skipped": skipped})
        log.info("step %d loss %.8f lr %.3e grad_norm %.6f supervised %d%s", done, loss_value, lr, norm_value, supervised,
                 " skipped" if skipped else "")
        if done % cfg.checkpoint.every_steps == 0 or done == t.total_steps:
            save(done)
            last_saved = done
        if hook_step == done:
            dist.barrier()
            if hook_kind == "request" and rank == 0:
                open(request, "w").close()
            if hook_kind == "pause":
                log.info("test hook: paused after step %d", done)
                while not os.path.exists(request):
                    time.sleep(0.2)
                log.info("test hook: %s appeared; resuming after step %d", REQUEST_FILE, done)

    metrics.write({"event": "done", "step": t.total_steps})
    log.info("done at step %d", t.total_steps)
    if cfg.export.formats:
        dist.barrier()
        if rank == 0:
            from . import export

            for fmt in cfg.export.formats:
                out = export.export(cfg.run_dir, t.total_steps, fmt)
                log.info("exported %s to %s", fmt, out)
                metrics.write({"event": "export", "format": fmt, "path": out})
        dist.barrier()
    return 0


def main(config_path: str) -> None:
    sys.exit(run(config_path))
