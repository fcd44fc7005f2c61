#!/usr/bin/env python3
"""The mmedtrain checks: one JSON line per check ({"check", "passed", "detail"}), exit status 1 when any failed.

    PYTHONPATH=python python3 python/tests/run_checks.py [--work DIR] [--only GROUP ...] [--keep]

Groups (in order): units, reader, trainer, parallel, resume, lora, export. A tiny random Llama (hidden 64, 2 layers,
4 heads, 2 KV heads, vocab 256) trains 8 steps on random Megatron data (80 sequences of ≤ 32 tokens); multi-process
runs use `python -m torch.distributed.run --standalone` on gloo (CPU).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402
import megatron_writer  # noqa: E402

TOL = 5e-6
FAILED = []


def report(check, passed, detail):
    passed = bool(passed)
    if not passed:
        FAILED.append(check)
    print(json.dumps({"check": check, "passed": passed, "detail": detail}), flush=True)


def guarded(name):
    def wrap(fn):
        def run(*args):
            began = time.time()
            try:
                fn(*args)
            except Exception as error:  # a group that crashes is a failed check, with the cause
                report(name, False, f"{type(error).__name__}: {error} | {traceback.format_exc(limit=3)[-600:]}")
            print(json.dumps({"group": name, "seconds": round(time.time() - began, 1)}), file=sys.stderr, flush=True)
        return run
    return wrap


# ---------------------------------------------------------------- fixtures

LORA = {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}
ONE = {"w1a4": dict(accum=4), "w1a4pm": dict(accum=4, normalization="per_micro_batch")}
TWO = {"w2a2": dict(accum=2), "w2a2ac": dict(accum=2, activation_checkpointing=True), "w2a1m2": dict(accum=1, micro=2),
       "lora": dict(accum=2, lora=LORA, activation_checkpointing=True, formats=["peft", "merged"]),
       "w2bf16": dict(accum=2, mixed_precision="bf16"), "w2bf16p": dict(accum=2, mixed_precision="bf16", dtype="bfloat16")}
METRIC_KEYS = {"step", "epoch", "loss", "lr", "grad_norm", "tokens", "supervised_tokens", "tokens_per_s", "elapsed_s", "skipped"}

class Fixture:
    def __init__(self, work):
        self.work = work
        self.model = os.path.join(work, "model")
        subprocess.run([sys.executable, os.path.join(common.REPO, "Tests", "Oracles", "make_tiny_llama_checkpoint.py"),
                        self.model, "--seed", "1"], check=True, capture_output=True, env=common.env())
        path = os.path.join(work, "data")
        tokens, masks, sequences, supervised, rows = megatron_writer.random_dataset(
            path, shards=2, per_shard=40, length=common.SEQ_LEN, vocab=common.VOCAB, seed=3, pad_id=common.PAD, variable=True)
        self.data = {"path": path, "tokens": tokens, "masks": masks, "sequences": sequences, "supervised": supervised}
        self.rows = rows
        self.runs = {}

    def run_dir(self, name):
        return os.path.join(self.work, "runs", name)

    def config(self, name, **kw):
        kw.setdefault("lr", 3e-3)
        return common.make_config(self.run_dir(name), self.model, self.data, **kw)

    def get(self, name):
        """Losses of one of the shared runs (ONE: 1 process, TWO: 2 processes), all trained in one launch each."""
        if name not in self.runs:
            if name in ONE:
                self.train_many(1, ONE)
            else:
                self.train_many(2, TWO)
        return self.runs[name]

    def train_many(self, nproc, runs):
        """Trains several fresh runs {name: options} in one torchrun launch (the same processes, one after another)."""
        todo = {name: kw for name, kw in runs.items() if name not in self.runs}
        if not todo:
            return
        paths = []
        for name, kw in todo.items():
            shutil.rmtree(self.run_dir(name), ignore_errors=True)
            paths.append(self.config(name, world=nproc, **kw))
        cmd = common.torchrun_cmd(nproc, os.path.join(HERE, "workers.py"), "multi", *paths)
        p = subprocess.run(cmd, env=common.env(), capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"runs {list(todo)} exited {p.returncode}: {p.stderr[-800:]}")
        for name in todo:
            self.runs[name] = common.losses(self.run_dir(name))



def checkpoint_state(run_dir, step):
    """Model tensors of a checkpoint, loaded in this process (DCP, no process group)."""
    from mmedtrain import config as config_mod, export

    cfg = config_mod.load(os.path.join(run_dir, "config.json"))
    model = export.load_trained(cfg, step)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, model


# ---------------------------------------------------------------- groups

@guarded("units")
def units(fx):
    import numpy as np
    import torch
    from transformers import get_scheduler

    from mmedtrain import config as config_mod, optim
    from mmedtrain.sampler import GlobalOrder

    # config: every key required, no unknown key, errors name the key
    base = json.load(open(fx.config("cfgcheck", world=2, accum=2)))
    cases = []
    bad = json.loads(json.dumps(base)); bad["training"]["extra_knob"] = 1; cases.append((bad, "training.extra_knob"))
    bad = json.loads(json.dumps(base)); del bad["optimizer"]["eps"]; cases.append((bad, "optimizer.eps"))
    bad = json.loads(json.dumps(base)); bad["training"]["max_grad_norm"] = "1"; cases.append((bad, "training.max_grad_norm"))
    bad = json.loads(json.dumps(base)); bad["batch"]["global_batch_size"] = 5; cases.append((bad, "batch.global_batch_size"))
    bad = json.loads(json.dumps(base)); bad["schedule"]["name"] = "poly"; cases.append((bad, "schedule.name"))
    bad = json.loads(json.dumps(base)); bad["lora"] = {"r": 4, "alpha": 8, "dropout": 0.0}; cases.append((bad, "lora.target_modules"))
    messages = []
    ok = config_mod.parse(base, "config.json").batch.world_size == 2
    for obj, key in cases:
        try:
            config_mod.parse(obj, "config.json")
            messages.append(f"{key}: accepted")
            ok = False
        except config_mod.ConfigError as error:
            text = str(error)
            messages.append(text)
            ok &= key in text and "\n" not in text and text.startswith("config.json:")
    report("config_strict_keys", ok, messages)

    # the CLI reports a bad config as one line and exit status 2
    bad_path = os.path.join(fx.work, "bad_config.json")
    json.dump(cases[0][0], open(bad_path, "w"))
    p = subprocess.run([sys.executable, "-m", "mmedtrain", "train", bad_path], env=common.env(), capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    report("cli_error_one_line", p.returncode == 2 and len(lines) == 1 and "training.extra_knob" in lines[0],
           {"rc": p.returncode, "stderr": p.stderr.strip()[-300:]})

    # schedules equal transformers' get_scheduler (LambdaLR after k optimizer steps)
    worst, total = 0.0, 23
    for name, hf_name, warmup, ratio in [("constant", "constant_with_warmup", 3, 0.0), ("linear", "linear", 4, 0.0),
                                         ("cosine", "cosine", 5, 0.0), ("cosine", "cosine_with_min_lr", 2, 0.1),
                                         ("cosine", "cosine", 0, 0.0)]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.5)
        kwargs = {"scheduler_specific_kwargs": {"min_lr_rate": ratio}} if ratio else {}
        sched = get_scheduler(hf_name, opt, num_warmup_steps=warmup, num_training_steps=total, **kwargs)
        for step in range(total + 2):
            ours = 0.5 * optim.lr_factor(step, name, warmup, total, ratio)
            worst = max(worst, abs(ours - opt.param_groups[0]["lr"]))
            opt.step(); sched.step()
    report("schedule_equals_transformers", worst <= 1e-15, {"max_abs_lr_diff": worst, "steps": total + 2})

    # the data order: numpy PCG64(seed + epoch) permutation, the same global batches on every world size
    n, gbs, spe, seed = 80, 8, 10, 11
    order = GlobalOrder(n, gbs, spe, seed)
    ok = np.array_equal(order.global_batch(spe + 2), np.random.Generator(np.random.PCG64(seed + 1)).permutation(n)[16:24])
    ok &= not np.array_equal(order.permutation(0), order.permutation(1))
    for world, micro, accum in [(1, 1, 8), (2, 2, 2), (4, 1, 2), (8, 1, 1), (2, 4, 1)]:
        for step in (0, 7, 13):
            got = [order.micro_batch(step, m, r, world, micro) for m in range(accum) for r in range(world)]
            ok &= np.array_equal(np.concatenate(got), order.global_batch(step))
    seen = np.concatenate([order.global_batch(s) for s in range(spe)])
    ok &= len(set(seen.tolist())) == spe * gbs
    report("sampler_order", ok, {"sequences": n, "global_batch": gbs, "layouts": "1x1x8 2x2x2 4x1x2 8x1x1 2x4x1"})


@guarded("reader")
def reader(fx):
    import numpy as np

    from mmedtrain import data as data_mod

    sys.path.insert(0, os.path.join(common.REPO, "Tests", "Oracles"))
    import pretrain_oracle

    ds = data_mod.TokenMaskDataset(fx.data["path"], fx.data["tokens"], fx.data["masks"])
    oracle = []
    for t, m in zip(fx.data["tokens"], fx.data["masks"]):
        tk = pretrain_oracle.read_megatron(os.path.join(fx.data["path"], t))
        mk = pretrain_oracle.read_megatron(os.path.join(fx.data["path"], m))
        oracle += list(zip(tk["sequences"], mk["sequences"]))
    mismatches = 0
    for i in range(len(ds)):
        tokens, mask = ds[i]
        ok = tokens.dtype == np.int32 and mask.dtype == np.uint8
        ok &= tokens.tolist() == oracle[i][0] == fx.rows[i][0] and mask.tolist() == oracle[i][1] == fx.rows[i][1]
        mismatches += not ok
    lengths = sorted({len(r[0]) for r in fx.rows})
    report("memmap_reader_vs_oracle", mismatches == 0 and len(ds) == len(oracle) == len(fx.rows),
           {"sequences": len(ds), "mismatches": mismatches, "lengths": f"{lengths[0]}..{lengths[-1]}"})

    # a mask dataset that does not pair up is refused, naming the file
    bad = os.path.join(fx.work, "baddata")
    os.makedirs(bad, exist_ok=True)
    megatron_writer.write_indexed(os.path.join(bad, "tokens_00000"), [[1, 2, 3], [4, 5]], "int32")
    megatron_writer.write_indexed(os.path.join(bad, "loss_mask_00000"), [[1, 1, 1], [1, 1, 0]], "uint8")
    megatron_writer.write_indexed(os.path.join(bad, "loss_mask_00001"), [[1, 1, 1]], "uint8")
    errors = []
    for masks in (["loss_mask_00000"], ["loss_mask_00001"], ["tokens_00000"]):
        try:
            data_mod.TokenMaskDataset(bad, ["tokens_00000"], masks)
            errors.append(None)
        except data_mod.DataError as error:
            errors.append(str(error))
    with open(os.path.join(bad, "tokens_00000.bin"), "ab") as handle:
        handle.write(b"\0\0\0\0")
    try:
        data_mod.IndexedDataset(os.path.join(bad, "tokens_00000"))
        errors.append(None)
    except data_mod.DataError as error:
        errors.append(str(error))
    ok = all(e is not None for e in errors) and "loss_mask_00000" in errors[0] and "loss_mask_00001" in errors[1] \
        and "dtype" in errors[2] and "tokens_00000.bin" in errors[3]
    report("reader_refuses_bad_pairs", ok, errors)


@guarded("trainer")
def trainer(fx):
    import torch
    from safetensors.torch import load_file

    ours = fx.get("w1a4")
    out = os.path.join(fx.work, "trainer.json")
    p = subprocess.run([sys.executable, os.path.join(HERE, "workers.py"), "trainer",
                        os.path.join(fx.run_dir("w1a4"), "config.json"), out], env=common.env(), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-800:])
    hf = json.load(open(out))
    diffs = [abs(a - b) for a, b in zip(ours, hf["losses"])]
    steps, _ = common.metrics(fx.run_dir("w1a4"))
    lr_diff = max(abs(steps[k + 1]["lr"] - hf["lrs"][k]) for k in range(len(hf["lrs"])))
    norm_diff = common.max_rel_diff(common.grad_norms(fx.run_dir("w1a4")), hf["grad_norms"])
    ok = len(ours) == len(hf["losses"]) == 8 and max(diffs) <= 1e-6 and lr_diff <= 1e-12 and hf["hf_decay"] == hf["our_decay"]
    ok &= norm_diff <= 1e-6
    ok &= abs(ours[-1] - ours[0]) > 1e-3  # the run really trains
    report("trainer_loss_parity", ok, {"steps": len(ours), "max_abs_loss_diff": max(diffs), "max_abs_lr_diff": lr_diff,
                                       "max_rel_grad_norm_diff": norm_diff,
                                       "loss_first_last": [ours[0], ours[-1]], "no_decay": hf["no_decay"],
                                       "decay_groups_equal": hf["hf_decay"] == hf["our_decay"]})
    # the final weights agree too
    final = load_file(os.path.join(fx.work, "hf_trainer_final.safetensors"))
    state, _ = checkpoint_state(fx.run_dir("w1a4"), 8)
    initial = load_file(os.path.join(fx.model, "model.safetensors"))
    worst = max(float((state[k] - final[k]).abs().max()) for k in final)
    moved = min(float((initial[k] - final[k]).abs().max()) for k in final)
    report("trainer_weight_parity", worst <= 1e-6 and moved > 1e-4 and set(final) == set(state),
           {"max_abs_weight_diff": worst, "tensors": len(final), "smallest_max_change_from_init": moved})


@guarded("parallel")
def parallel(fx):
    one, two, two_ac, two_big = fx.get("w1a4"), fx.get("w2a2"), fx.get("w2a2ac"), fx.get("w2a1m2")
    # Adam hides a constant gradient scale in the losses, so the logged (pre-clipping) grad norms are compared too
    norms = {name: common.grad_norms(fx.run_dir(name)) for name in ("w1a4", "w2a2", "w2a2ac", "w2a1m2")}
    norm_12 = common.max_rel_diff(norms["w2a2"], norms["w1a4"])
    report("fsdp2_2proc_vs_1proc", common.max_diff(one, two) <= TOL and norm_12 <= 1e-5,
           {"max_abs_loss_diff": common.max_diff(one, two), "max_rel_grad_norm_diff": norm_12, "steps": len(two),
            "layouts": "2x2 vs 1x4"})
    report("activation_checkpointing_identical", common.max_diff(two, two_ac) == 0.0 and norms["w2a2"] == norms["w2a2ac"],
           {"max_abs_loss_diff": common.max_diff(two, two_ac), "grad_norms_equal": norms["w2a2"] == norms["w2a2ac"],
            "steps": len(two_ac)})
    worst = max(common.max_diff(one, two_big), common.max_diff(two, two_big), common.max_diff(one, two))
    worst_norm = max(common.max_rel_diff(norms["w2a1m2"], norms["w1a4"]), common.max_rel_diff(norms["w2a1m2"], norms["w2a2"]), norm_12)
    report("grad_accumulation_invariance", worst <= TOL and worst_norm <= 1e-5,
           {"max_abs_loss_diff": worst, "max_rel_grad_norm_diff": worst_norm,
            "layouts": "world×micro×accum 2×2×1, 2×1×2, 1×1×4", "global_batch": 4})
    # bf16 (FSDP2 MixedPrecisionPolicy; and bf16 parameters) trains close to fp32, but not identically
    bf = {name: fx.get(name) for name in ("w2bf16", "w2bf16p")}
    diffs = {name: common.max_diff(two, losses) for name, losses in bf.items()}
    report("bf16_close_to_fp32", all(1e-7 < d < 1e-2 for d in diffs.values()),
           {"max_abs_loss_diff_mixed_bf16": diffs["w2bf16"], "max_abs_loss_diff_bf16_params": diffs["w2bf16p"]})

    # RUN/ files of the contract: metrics.jsonl records and events, one log per rank
    steps, events = common.metrics(fx.run_dir("w2a2"))
    keys_ok = all(set(r) == METRIC_KEYS for r in steps.values()) and sorted(steps) == list(range(1, 9))
    kinds = [e["event"] for e in events]
    logs = sorted(os.listdir(os.path.join(fx.run_dir("w2a2"), "logs")))
    sup = sum(r["supervised_tokens"] for r in steps.values())
    report("run_files", keys_ok and kinds == ["checkpoint", "checkpoint", "done"] and logs == ["rank_0.log", "rank_1.log"]
           and all(r["tokens"] == 4 * common.SEQ_LEN for r in steps.values()) and 0 < sup < 8 * 4 * common.SEQ_LEN,
           {"metric_keys_ok": keys_ok, "events": kinds, "logs": logs, "supervised_tokens_8_steps": sup})

    # the NaN guard: an absurd learning rate makes every step after the first non-finite; 3 in a row stop the run
    name = "nan"
    shutil.rmtree(fx.run_dir(name), ignore_errors=True)
    path = fx.config(name, world=1, accum=4, lr=1e35, warmup=0, schedule="constant")
    rc, err = common.train(path, 1)
    strict = True
    for line in open(os.path.join(fx.run_dir(name), "metrics.jsonl")):
        try:
            json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError:
            strict = False
    _, events = common.metrics(fx.run_dir(name))
    nans = [e["step"] for e in events if e["event"] == "nan"]
    report("nan_guard_stops_after_3", rc != 0 and "training.nan_guard" in err and nans == [2, 3, 4] and strict
           and not any(e["event"] == "done" for e in events),
           {"rc": rc, "nan_steps": nans, "strict_json": strict, "error": [l for l in err.splitlines() if "mmedtrain: error" in l][:1]})

    # the published normalisation differs from the global one on the same batches (the switch has an effect)
    pm = fx.get("w1a4pm")
    report("per_micro_batch_normalization_differs", 1e-6 < common.max_diff(one, pm) < 1.0,
           {"max_abs_loss_diff_vs_global_tokens": common.max_diff(one, pm)})


def wait_for_log(run_dir, ranks, text, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = 0
        for r in range(ranks):
            path = os.path.join(run_dir, "logs", f"rank_{r}.log")
            if os.path.exists(path) and text in open(path).read():
                found += 1
        if found == ranks:
            return True
        time.sleep(0.2)
    return False


def launch(config_path, nproc, hook=None):
    env = common.env()
    if hook:
        env["MMEDTRAIN_TEST_HOOK"] = hook
    cmd = common.torchrun_cmd(nproc, "-m", "mmedtrain", "train", config_path)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def last_pid(run_dir, rank):
    pid = None
    for line in open(os.path.join(run_dir, "logs", f"rank_{rank}.log")):
        if " pid " in line:
            pid = int(line.split(" pid ")[1].split(",")[0])
    return pid


@guarded("resume")
def resume(fx):
    reference = fx.get("w2a2")
    from mmedtrain import checkpoint

    # A checkpoint request after step 3 (exit 0), a kill -9 of rank 1 after step 5, a restart on 2 processes.
    name = "resume_same"
    run_dir = fx.run_dir(name)
    shutil.rmtree(run_dir, ignore_errors=True)
    path = fx.config(name, world=2, accum=2, every=2, keep=2)
    p = launch(path, 2, hook="request:3")
    _, err = p.communicate(timeout=900)
    _, events = common.metrics(run_dir)
    pre = [e for e in events if e["event"] == "preempted"]
    ok = p.returncode == 0 and pre == [{"event": "preempted", "step": 3}] and 3 in checkpoint.complete_steps(run_dir) \
        and not os.path.exists(os.path.join(run_dir, "CHECKPOINT_REQUEST"))
    report("checkpoint_request_exits_0", ok, {"rc": p.returncode, "events": [e["event"] + str(e["step"]) for e in events],
                                              "stderr": "" if ok else err[-500:]})
    p = launch(path, 2, hook="pause:5")
    paused = wait_for_log(run_dir, 2, "paused after step 5")
    os.kill(last_pid(run_dir, 1), signal.SIGKILL)
    p.communicate(timeout=900)
    killed_rc = p.returncode
    other = fx.run_dir("resume_other")
    shutil.rmtree(other, ignore_errors=True)
    shutil.copytree(run_dir, other)
    rc, err = common.train(path, 2)
    losses = common.losses(run_dir)
    _, events = common.metrics(run_dir)
    resumed = [e["step"] for e in events if e["event"] == "resumed"]
    kept = checkpoint.complete_steps(run_dir)
    ok = paused and killed_rc != 0 and rc == 0 and resumed == [3, 4] and losses == reference and kept == [6, 8]
    report("resume_same_world_bit_identical", ok,
           {"killed": "kill -9 rank 1 after step 5", "paused": paused, "killed_rc": killed_rc, "rc": rc, "resumed_from": resumed,
            "steps": len(losses), "max_abs_loss_diff": common.max_diff(losses, reference), "kept_checkpoints": kept,
            "stderr": "" if ok else err[-500:]})

    # The same killed run, with a half-written .partial folder, restarted on 1 process (1×4).
    partial = checkpoint.step_path(other, 6) + ".partial"
    os.makedirs(partial)
    with open(os.path.join(partial, "__0_0.distcp"), "wb") as handle:
        handle.write(b"\x00garbage")
    os.makedirs(checkpoint.step_path(other, 7))  # a final name without COMPLETE: not a checkpoint
    path = fx.config("resume_other", world=1, accum=4, every=2, keep=3)
    rc, err = common.train(path, 1)
    losses = common.losses(other)
    _, events = common.metrics(other)
    resumed = [e["step"] for e in events if e["event"] == "resumed"]
    ok = rc == 0 and resumed[-1:] == [4] and not os.path.exists(partial) and len(losses) == 8 \
        and common.max_diff(losses, reference) <= TOL
    report("resume_other_world", ok,
           {"saved_by": "2 ranks", "resumed_on": "1 rank", "rc": rc, "resumed_from": resumed[-1:], "partial_removed": not os.path.exists(partial),
            "max_abs_loss_diff": common.max_diff(losses, reference), "stderr": "" if ok else err[-500:]})


@guarded("lora")
def lora(fx):
    import torch
    from safetensors.torch import load_file

    from mmedtrain.lora import base_key

    losses = fx.get("lora")
    run_dir = fx.run_dir("lora")
    state, _ = checkpoint_state(run_dir, 8)
    base = load_file(os.path.join(fx.model, "model.safetensors"))
    frozen_diff, adapters, b_norm = 0.0, 0, 0.0
    for key, tensor in state.items():
        if "lora_" in key:
            adapters += 1
            if "lora_B" in key:
                b_norm = max(b_norm, float(tensor.abs().max()))
        else:
            frozen_diff = max(frozen_diff, float((tensor - base[base_key(key)]).abs().max()))
    report("lora_only_adapters_change", frozen_diff == 0.0 and adapters == 8 and b_norm > 1e-4,
           {"max_abs_frozen_diff": frozen_diff, "adapter_tensors": adapters, "max_abs_lora_B": b_norm,
            "loss_first_last": [losses[0], losses[-1]]})

    out = os.path.join(fx.work, "adapters")
    shutil.rmtree(out, ignore_errors=True)
    cmd = common.torchrun_cmd(2, os.path.join(HERE, "workers.py"), "adapters", os.path.join(run_dir, "config.json"), out)
    p = subprocess.run(cmd, env=common.env(), capture_output=True, text=True, timeout=900)
    worst, count = float("inf"), 0
    if p.returncode == 0:
        worst = 0.0
        for rank in range(2):
            got = load_file(os.path.join(out, f"rank_{rank}.safetensors"))
            count += len(got)
            for key, tensor in got.items():
                worst = max(worst, float((tensor - state[key]).abs().max()))
    report("lora_resume_restores_every_rank", p.returncode == 0 and worst == 0.0 and count == 16,
           {"max_abs_diff_vs_checkpoint": worst, "tensors": count, "stderr": "" if p.returncode == 0 else p.stderr[-500:]})

    # resume with dropout: the per-micro-batch reseeding makes it bit-identical
    name = "lora_resume"
    rd = fx.run_dir(name)
    shutil.rmtree(rd, ignore_errors=True)
    path = fx.config(name, world=2, accum=2, every=2, lora=LORA, activation_checkpointing=True)
    p = launch(path, 2, hook="pause:5")
    paused = wait_for_log(rd, 2, "paused after step 5")
    p.send_signal(signal.SIGTERM)  # to the torchrun agent only
    p.communicate(timeout=900)
    killed_rc = p.returncode
    rc, err = common.train(path, 2)
    again = common.losses(rd)
    _, events = common.metrics(rd)
    resumed = [e["step"] for e in events if e["event"] == "resumed"]
    report("lora_resume_after_sigterm_bit_identical", paused and killed_rc != 0 and rc == 0 and resumed == [4] and again == losses,
           {"killed": "SIGTERM to the torchrun agent after step 5", "sigterm_rc": killed_rc, "rc": rc, "resumed_from": resumed,
            "lora_dropout": LORA["dropout"], "max_abs_loss_diff": common.max_diff(again, losses),
            "stderr": "" if rc == 0 else err[-500:]})


@guarded("export")
def export(fx):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    fx.get("w2a2")
    run_dir = fx.run_dir("w2a2")
    p = subprocess.run([sys.executable, "-m", "mmedtrain", "export", run_dir, "--step", "8", "--format", "hf"],
                       env=common.env(), capture_output=True, text=True)
    out = os.path.join(run_dir, "export", "hf")
    state, _ = checkpoint_state(run_dir, 8)
    shards = len([f for f in os.listdir(out) if f.endswith(".safetensors")]) if os.path.isdir(out) else 0
    worst = float("inf")
    if p.returncode == 0:
        reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).state_dict()
        worst = max(float((reloaded[k] - state[k]).abs().max()) for k in state) if set(reloaded) == set(state) else float("inf")
    report("export_hf_reloads_exactly", p.returncode == 0 and worst == 0.0 and shards > 1,
           {"max_abs_weight_diff": worst, "shards": shards, "tensors": len(state), "stderr": p.stderr[-300:] if p.returncode else ""})

    fx.get("lora")
    lora_dir = fx.run_dir("lora")
    lstate, _ = checkpoint_state(lora_dir, 8)
    base = AutoModelForCausalLM.from_pretrained(fx.model, dtype=torch.float32)
    ids = torch.tensor([fx.rows[0][0][:16], fx.rows[1][0][:16]])  # the shortest sequences have 16 tokens
    with torch.no_grad():
        base_logits = base(input_ids=ids).logits
        adapted = PeftModel.from_pretrained(base, os.path.join(lora_dir, "export", "peft")).eval()
        adapter_diff = max(float((t - lstate[k]).abs().max()) for k, t in adapted.state_dict().items() if "lora_" in k)
        peft_logits = adapted(input_ids=ids).logits
        merged = AutoModelForCausalLM.from_pretrained(os.path.join(lora_dir, "export", "merged"), dtype=torch.float32).eval()
        merged_logits = merged(input_ids=ids).logits
    diff = float((peft_logits - merged_logits).abs().max())
    effect = float((peft_logits - base_logits).abs().max())
    report("export_peft_and_merged", adapter_diff == 0.0 and diff <= 1e-5 and effect > 1e-4,
           {"adapter_vs_checkpoint": adapter_diff, "max_abs_logit_diff_merged_vs_adapter": diff,
            "max_abs_logit_change_vs_base": effect})


GROUPS = {"units": units, "reader": reader, "trainer": trainer, "parallel": parallel, "resume": resume, "lora": lora,
          "export": export}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", help="work folder (default: a fresh temporary one)")
    parser.add_argument("--only", nargs="+", choices=list(GROUPS))
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    # A caller's thread may block SIGTERM/SIGUSR1 (Swift's test runner starts us from a Dispatch thread, and children
    # inherit the mask): unblock them, or the kill checks' torchrun agents would never see their signals.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP})
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = args.work or tempfile.mkdtemp(prefix="mmedtrain-checks-")
    os.makedirs(work, exist_ok=True)
    began = time.time()
    fx = Fixture(work)
    for name in args.only or list(GROUPS):
        GROUPS[name](fx)
    print(json.dumps({"summary": {"failed": FAILED, "seconds": round(time.time() - began, 1), "work": work}}), flush=True)
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
