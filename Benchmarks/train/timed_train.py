#!/usr/bin/env python3
"""`python -m mmedtrain train RUN/config.json` with the time spent building batches measured (for the benchmarks).

    python -m torch.distributed.run --standalone --nproc-per-node N Benchmarks/train/timed_train.py RUN/config.json

It runs the unchanged training loop (`mmedtrain.train.run`) with two wrappers, so that RUN/metrics.jsonl keeps the
contract of docs/training-config.md untouched:

- `mmedtrain.train.make_batch` is timed (wall clock around each call: reading the sequences, building input_ids and
  labels, and on a GPU the host-to-device copy, which is synchronous from pageable memory);
- at each step record the loop writes, every rank appends to RUN/data_wait_rank_K.jsonl
  `{"step", "data_wait_s", "step_s", "data_wait_fraction", "micro_batches", "end_s"}`, where `step_s` is the loop's own
  step time (`tokens / tokens_per_s` of that record, i.e. from the start of the step to its log), `data_wait_s` the
  summed make_batch time of the step, and `end_s` the time of the record (after `torch.cuda.synchronize()` on a GPU,
  so that the optimizer step has finished) since the wrapper started, for steady-state rates. Needs
  `logging.every_steps` 1.

With MMEDBENCH_NO_CHECKPOINT=1 the checkpoint writes (the final step always saves one) are skipped, so that a
benchmark does not spend minutes writing optimizer state it will not use.

At the end of the run each rank also records the peak accelerator memory (`torch.cuda.max_memory_allocated`) in
RUN/peak_memory_rank_K.json (0 on CPU). The loop builds every micro-batch of a step before its first forward, and
the step starts with a broadcast + `.item()` (the checkpoint-request flag) that waits for the previous step's GPU work,
so make_batch's time is the data wait: nothing else overlaps it.
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))


def main(config_path: str) -> int:
    import torch

    from mmedtrain import train as train_mod
    from mmedtrain import config as config_mod

    cfg = config_mod.load(config_path)
    if cfg.logging.every_steps != 1:
        sys.exit(f"timed_train.py: {config_path}: logging.every_steps must be 1 to time every step")
    t0 = time.perf_counter()
    rank = int(os.environ.get("RANK", "0"))
    out_path = os.path.join(cfg.run_dir, f"data_wait_rank_{rank}.jsonl")
    if os.path.exists(out_path):
        os.remove(out_path)
    state = {"wait": 0.0, "calls": 0}
    original_make_batch = train_mod.make_batch
    original_write = train_mod.Metrics.write

    def timed_make_batch(*args, **kwargs):
        began = time.perf_counter()
        try:
            return original_make_batch(*args, **kwargs)
        finally:
            state["wait"] += time.perf_counter() - began
            state["calls"] += 1

    def write(self, record):
        if "event" not in record and "step" in record and record.get("tokens_per_s"):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            end = time.perf_counter() - t0
            step_s = record["tokens"] / record["tokens_per_s"]
            with open(out_path, "a") as handle:
                handle.write(json.dumps({"step": record["step"], "data_wait_s": state["wait"], "step_s": step_s,
                                         "data_wait_fraction": state["wait"] / step_s,
                                         "micro_batches": state["calls"], "end_s": end}) + "\n")
            state["wait"], state["calls"] = 0.0, 0
        return original_write(self, record)

    train_mod.make_batch = timed_make_batch
    train_mod.Metrics.write = write
    if os.environ.get("MMEDBENCH_NO_CHECKPOINT") == "1":
        def no_save(model, optimizer, run_dir, step, *rest):
            return os.path.join(run_dir, "checkpoints", f"step_{step:08d}-not-written-by-benchmark")

        train_mod.checkpoint.save = no_save
    rc = train_mod.run(config_path)
    peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
    with open(os.path.join(cfg.run_dir, f"peak_memory_rank_{rank}.json"), "w") as handle:
        json.dump({"rank": rank, "max_memory_allocated": peak,
                   "max_memory_reserved": torch.cuda.max_memory_reserved() if torch.cuda.is_available() else 0}, handle)
    return rc


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
