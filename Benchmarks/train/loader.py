#!/usr/bin/env python3
"""Loader throughput of mmedtrain (Megatron reader + batch assembly) against Megatron-Core's IndexedDataset.

    loader.py make  --out DIR [--tokens 50000000] [--shards 8] [--length 2048] [--vocab 128256] [--pad-id 128001]
    loader.py measure --data DIR --side ours|peer [--micro 8] [--accum 64] [--passes 4] [--drop-cache] [--check N]
    loader.py table RESULT.json ...

`make` writes a pretraining-like Megatron dataset: documents of log-normal length (median ~1,500 tokens) cut into
windows of `--length` tokens, the last window of a document padded with the pad id (loss mask 0 there, the
`exclude-padding` mask of `mmed pretrain prepare`), one Megatron document per source document, int32 tokens and
parallel uint8 loss masks in `--shards` shards, plus `dataset.json` (the `data` block of RUN/config.json).

`measure` times, in this process and on one thread, full passes over the dataset in the trainer's order
(`GlobalOrder`, world size 1, `--micro` sequences per micro-batch, `--accum` micro-batches per step), each micro-batch
turned into (input_ids, labels) int64 tensors of shape (micro, length):

  ours  mmedtrain.data.TokenMaskDataset + mmedtrain.train.make_batch, exactly as the trainer calls them;
  peer  megatron.core.datasets.indexed_dataset.IndexedDataset (mmap) for the token and mask shards, a map-style
        `__getitem__` that makes one sample (int64 tokens padded to `length`, labels = token where the mask is 1
        else -100) and a collate that stacks the samples, i.e. a torch Dataset + default_collate /
        transformers' default_data_collator, the ordinary way a trainer feeds Megatron data.

Both see the same files and the same indices; `--check N` compares their tensors on the first N micro-batches
(untimed). With `--drop-cache` the .bin/.idx pages are evicted first (posix_fadvise DONTNEED; `fincore` shows what
stays resident), so the first pass reads from disk ("cold"); later passes are warm. One JSON object is printed.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "python"))

IGNORE = -100


# ------------------------------------------------------------------------------------------------ make

def write_indexed(prefix: str, data: np.ndarray, lengths: np.ndarray, documents: np.ndarray, code: int) -> None:
    """PREFIX.bin/.idx from the Megatron layout (magic, <Q version, <B dtype code, <Q S, <Q D, lengths, pointers, docs)."""
    itemsize = data.dtype.itemsize
    pointers = np.zeros(len(lengths), dtype="<i8")
    if len(lengths) > 1:
        pointers[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * itemsize
    with open(prefix + ".bin", "wb") as handle:
        handle.write(data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes())
    with open(prefix + ".idx", "wb") as handle:
        handle.write(b"MMIDIDX\x00\x00")
        handle.write(np.array([1], "<u8").tobytes())
        handle.write(np.array([code], "u1").tobytes())
        handle.write(np.array([len(lengths), len(documents)], "<u8").tobytes())
        handle.write(lengths.astype("<i4").tobytes())
        handle.write(pointers.tobytes())
        handle.write(documents.astype("<i8").tobytes())


def make(args) -> None:
    rng = np.random.default_rng(args.seed)
    L = args.length
    windows_total = -(-args.tokens // L)
    per_shard = -(-windows_total // args.shards)
    os.makedirs(args.out, exist_ok=True)
    tokens_names, mask_names, supervised, sequences = [], [], 0, 0
    began = time.time()
    for shard in range(args.shards):
        want = min(per_shard, windows_total - sequences)
        # documents → windows: a document of n tokens is ceil(n / L) windows, the last one padded
        doc_windows, pad_tails, have = [], [], 0
        while have < want:
            n = int(np.clip(rng.lognormal(np.log(1500), 1.0), 16, 40 * L))
            w = min(-(-n // L), want - have)
            n = min(n, w * L)
            doc_windows.append(w)
            pad_tails.append(w * L - n)
            have += w
        tokens = rng.integers(0, args.vocab, size=(want, L), dtype=np.int32)
        tokens[tokens == args.pad_id] = 3  # the data's own pad id appears only in padding
        mask = np.ones((want, L), dtype=np.uint8)
        last = np.cumsum(doc_windows) - 1
        for row, pad in zip(last, pad_tails):
            if pad:
                tokens[row, L - pad:] = args.pad_id
                mask[row, L - pad:] = 0
        lengths = np.full(want, L, dtype=np.int32)
        documents = np.concatenate([[0], np.cumsum(doc_windows)]).astype(np.int64)
        t, m = f"tokens_{shard:05d}", f"loss_mask_{shard:05d}"
        write_indexed(os.path.join(args.out, t), tokens.reshape(-1), lengths, documents, 4)
        write_indexed(os.path.join(args.out, m), mask.reshape(-1), lengths, documents, 1)
        tokens_names.append(t)
        mask_names.append(m)
        supervised += int(mask.sum(dtype=np.int64))
        sequences += want
    info = {"path": os.path.abspath(args.out), "tokens": tokens_names, "loss_mask": mask_names, "sequences": sequences,
            "sequence_length": L, "pad_id": args.pad_id, "vocab_size": args.vocab, "supervised_tokens": supervised}
    with open(os.path.join(args.out, "dataset.json"), "w") as handle:
        json.dump(info, handle, indent=1)
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"loader.py make: {sequences} windows × {L} = {sequences * L:,} tokens, {args.shards} shards, "
          f"{size / 1e6:.0f} MB in {args.out} ({time.time() - began:.0f} s)", file=sys.stderr)


# ------------------------------------------------------------------------------------------------ sides

class MegatronPeer:
    """Megatron-Core IndexedDataset shards behind a map-style dataset of HF-style samples, and a stacking collate."""

    def __init__(self, info: dict, pad_in_loss: bool):
        from megatron.core.datasets.indexed_dataset import IndexedDataset

        root = info["path"]
        self.tokens = [IndexedDataset(os.path.join(root, p)) for p in info["tokens"]]
        self.masks = [IndexedDataset(os.path.join(root, p)) for p in info["loss_mask"]]
        self.starts = [0]
        for t in self.tokens:
            self.starts.append(self.starts[-1] + len(t))
        self.length, self.pad_id = info["sequence_length"], info["pad_id"]
        self.pad_label = self.pad_id if pad_in_loss else IGNORE

    def __getitem__(self, i: int):
        import torch

        shard = bisect.bisect_right(self.starts, i) - 1
        j = i - self.starts[shard]
        tokens, mask = self.tokens[shard][j], self.masks[shard][j]
        n = len(tokens)
        ids = torch.full((self.length,), self.pad_id, dtype=torch.long)
        labels = torch.full((self.length,), self.pad_label, dtype=torch.long)
        ids[:n] = torch.from_numpy(tokens.astype(np.int64))
        labels[:n] = torch.where(torch.from_numpy(mask).bool(), ids[:n], IGNORE)
        return {"input_ids": ids, "labels": labels}

    def batch(self, indices):
        import torch

        samples = [self[int(i)] for i in indices]
        return torch.stack([s["input_ids"] for s in samples]), torch.stack([s["labels"] for s in samples])


class Ours:
    def __init__(self, info: dict, pad_in_loss: bool):
        import torch

        from mmedtrain import data as data_mod
        from mmedtrain.train import make_batch

        self.dataset = data_mod.TokenMaskDataset(info["path"], info["tokens"], info["loss_mask"])
        self.make_batch = make_batch
        self.args = (info["sequence_length"], info["pad_id"], pad_in_loss, info["vocab_size"], torch.device("cpu"))

    def batch(self, indices):
        return self.make_batch(self.dataset, indices, *self.args)


# ------------------------------------------------------------------------------------------------ measure

def data_files(info: dict) -> list[str]:
    return [os.path.join(info["path"], p + ext) for p in info["tokens"] + info["loss_mask"] for ext in (".bin", ".idx")]


def drop_cache(files: list[str]) -> dict:
    """Evict the files' clean pages (no root needed; mapped pages stay). Returns resident bytes before and after."""
    def resident():
        try:
            out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", *files], capture_output=True,
                                 text=True, check=True).stdout.split()
            return sum(int(x) for x in out)
        except (OSError, subprocess.CalledProcessError, ValueError):
            return None

    before = resident()
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return {"resident_bytes_before": before, "resident_bytes_after": resident(),
            "file_bytes": sum(os.path.getsize(f) for f in files)}


def measure(args) -> None:
    import torch

    torch.set_num_threads(1)
    from mmedtrain.sampler import GlobalOrder

    with open(os.path.join(args.data, "dataset.json")) as handle:
        info = json.load(handle)
    n, L = info["sequences"], info["sequence_length"]
    gbs = args.micro * args.accum
    spe = n // gbs
    order = GlobalOrder(n, gbs, spe, args.seed)
    result = {"side": args.side, "sequences": n, "sequence_length": L, "micro_batch_size": args.micro,
              "gradient_accumulation_steps": args.accum, "steps_per_pass": spe, "tokens_per_pass": spe * gbs * L,
              "pad_in_loss": args.pad_in_loss}
    if args.drop_cache:
        result["cache"] = drop_cache(data_files(info))
    # opening the datasets is not timed (both map files; ours also validates the index)
    side = Ours(info, args.pad_in_loss) if args.side == "ours" else MegatronPeer(info, args.pad_in_loss)
    if args.check:
        other = MegatronPeer(info, args.pad_in_loss) if args.side == "ours" else Ours(info, args.pad_in_loss)
        mismatches = 0
        for k in range(args.check):
            step, m = divmod(k, args.accum)
            idx = order.micro_batch(step % spe, m, 0, 1, args.micro)
            a, b = side.batch(idx), other.batch(idx)
            ok = all(x.dtype == torch.int64 and x.shape == (args.micro, L) for x in a + b)
            mismatches += not (ok and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]))
        result["check"] = {"micro_batches": args.check, "mismatches": mismatches}
        del other
    passes = []
    for p in range(args.passes):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for step in range(spe):
            for m in range(args.accum):
                ids, labels = side.batch(order.micro_batch(step, m, 0, 1, args.micro))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        passes.append({"wall_s": wall, "cpu_s": cpu})
        del ids, labels
    result["passes"] = passes
    print(json.dumps(result))


# ------------------------------------------------------------------------------------------------ table

def table(paths: list[str]) -> None:
    """Reads the `measure` outputs (one JSON per file) and prints ours vs peer, cold and warm."""
    runs = {}
    for path in paths:
        with open(path) as handle:
            r = json.load(handle)
        runs.setdefault(r["side"], []).append(r)

    def rates(r):
        tok = r["tokens_per_pass"]
        cold = r["passes"][0] if r.get("cache") else None
        warm = r["passes"][1:] if r.get("cache") else r["passes"]
        out = {}
        if cold:
            out["cold_wall"] = tok / cold["wall_s"] / 1e6
            out["cold_cpu"] = tok / cold["cpu_s"] / 1e6
        if warm:
            out["warm_best_cpu"] = max(tok / w["cpu_s"] for w in warm) / 1e6
            out["warm_median_cpu"] = statistics.median(tok / w["cpu_s"] for w in warm) / 1e6
            out["warm_best_wall"] = max(tok / w["wall_s"] for w in warm) / 1e6
            out["warm_median_wall"] = statistics.median(tok / w["wall_s"] for w in warm) / 1e6
            out["micro_batch_ms"] = statistics.median(w["cpu_s"] for w in warm) / (r["steps_per_pass"] * r["gradient_accumulation_steps"]) * 1e3
        return out

    rows = {}
    for side, rs in runs.items():
        merged = {}
        for r in rs:
            for k, v in rates(r).items():
                merged.setdefault(k, []).append(v)
        rows[side] = {k: (max(v) if "best" in k else statistics.median(v)) for k, v in merged.items()}
        rows[side]["check"] = [r.get("check") for r in rs if r.get("check")]
        rows[side]["cache"] = [r.get("cache") for r in rs if r.get("cache")]
    r0 = next(iter(runs.values()))[0]
    print(f"\n{r0['tokens_per_pass'] / 1e6:.1f} M tokens per pass, micro-batch {r0['micro_batch_size']} × "
          f"{r0['sequence_length']}, {r0['steps_per_pass'] * r0['gradient_accumulation_steps']} micro-batches; "
          "M tokens/s (per core = tokens / CPU s of the single-threaded process)\n")
    cols = [("cold_wall", "cold wall"), ("cold_cpu", "cold /core"), ("warm_best_cpu", "warm /core best"),
            ("warm_median_cpu", "warm /core median"), ("warm_best_wall", "warm wall best"),
            ("micro_batch_ms", "ms / micro-batch")]
    print("| side | " + " | ".join(c[1] for c in cols) + " |")
    print("| --- | " + " | ".join("---:" for _ in cols) + " |")
    for side in ("ours", "peer"):
        if side in rows:
            print(f"| {side} | " + " | ".join(f"{rows[side][k]:.2f}" if k in rows[side] else "-" for k, _ in cols) + " |")
    if "ours" in rows and "peer" in rows:
        cells = []
        for k, _ in cols:
            a, b = rows["ours"].get(k), rows["peer"].get(k)
            if k == "micro_batch_ms":
                cells.append(f"{b / a:.2f}x" if a and b else "-")
            else:
                cells.append(f"{a / b:.2f}x" if a and b else "-")
        print("| ours/peer | " + " | ".join(cells) + " |")
    for side in rows:
        for c in rows[side]["check"]:
            print(f"{side}: tensors compared with the other side on {c['micro_batches']} micro-batches, "
                  f"{c['mismatches']} mismatches")
        caches = rows[side]["cache"]
        if caches:
            after = [c["resident_bytes_after"] for c in caches]
            if None in after:
                print(f"{side}: {len(caches)} cold pass(es), page cache dropped with posix_fadvise (fincore missing: "
                      "resident bytes unknown)")
            else:
                print(f"{side}: {len(caches)} cold pass(es); before each, {max(after) / 1e6:.0f} MB or less of the "
                      f"{caches[0]['file_bytes'] / 1e6:.0f} MB dataset was resident (page cache dropped with posix_fadvise)")
    if "ours" in rows and "warm_median_cpu" in rows["ours"]:
        v = rows["ours"]["warm_median_cpu"]
        print(f"target ≥ 50 M tokens/s/core warm: ours {v:.1f} → {'met' if v >= 50 else 'NOT met'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("--out", required=True)
    mk.add_argument("--tokens", type=int, default=50_000_000)
    mk.add_argument("--shards", type=int, default=8)
    mk.add_argument("--length", type=int, default=2048)
    mk.add_argument("--vocab", type=int, default=128256)
    mk.add_argument("--pad-id", type=int, default=128001)
    mk.add_argument("--seed", type=int, default=0)
    ms = sub.add_parser("measure")
    ms.add_argument("--data", required=True)
    ms.add_argument("--side", choices=["ours", "peer"], required=True)
    ms.add_argument("--micro", type=int, default=8)
    ms.add_argument("--accum", type=int, default=64)
    ms.add_argument("--passes", type=int, default=4)
    ms.add_argument("--seed", type=int, default=42)
    ms.add_argument("--pad-in-loss", action="store_true")
    ms.add_argument("--drop-cache", action="store_true")
    ms.add_argument("--check", type=int, default=0, help="compare the two sides' tensors on N micro-batches (untimed)")
    tb = sub.add_parser("table")
    tb.add_argument("results", nargs="+")
    args = ap.parse_args()
    if args.cmd == "make":
        make(args)
    elif args.cmd == "measure":
        measure(args)
    else:
        table(args.results)


if __name__ == "__main__":
    main()
