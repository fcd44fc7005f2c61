"""RUN/export/{hf,peft,merged}/ from a complete checkpoint (single process, on the CPU)."""

from __future__ import annotations

import glob
import os
import shutil

import torch

from . import checkpoint, config as config_mod, lora as lora_mod, model as model_mod

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "generation_config.json", "chat_template.jinja")


class ExportError(ValueError):
    pass


def load_trained(cfg, step: int) -> torch.nn.Module:
    """The run's model (a PeftModel for LoRA runs) on the CPU with the weights of checkpoint `step`."""
    from transformers import AutoModelForCausalLM

    path = checkpoint.step_path(cfg.run_dir, step)
    if not os.path.isfile(os.path.join(path, "COMPLETE")):
        raise ExportError(f"{path}: no complete checkpoint for step {step} (complete: {checkpoint.complete_steps(cfg.run_dir)})")
    model = AutoModelForCausalLM.from_pretrained(cfg.model.path, dtype=model_mod.DTYPES[cfg.model.dtype],
                                                 attn_implementation=cfg.model.attn_implementation)
    if cfg.lora is not None:
        model = lora_mod.apply(model, cfg.lora)
    checkpoint.load_model_only(model, path)
    model.eval()
    return model


def _copy_tokenizer(source: str, out: str) -> None:
    for name in TOKENIZER_FILES:
        if os.path.isfile(os.path.join(source, name)):
            shutil.copy2(os.path.join(source, name), os.path.join(out, name))


def _fresh(out: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)


def export(run_dir: str, step: int, fmt: str, out: str | None = None) -> str:
    cfg = config_mod.load(os.path.join(run_dir, "config.json"))
    if fmt not in ("hf", "peft", "merged"):
        raise ExportError(f"--format: {fmt!r} is not one of hf, peft, merged")
    if fmt in ("peft", "merged") and cfg.lora is None:
        raise ExportError(f"--format {fmt}: {run_dir}/config.json has no lora section")
    if fmt == "hf" and cfg.lora is not None:
        raise ExportError(f"--format hf: {run_dir} is a LoRA run; export peft or merged")
    out = out or os.path.join(run_dir, "export", fmt)
    model = load_trained(cfg, step)
    shard = cfg.export.max_shard_bytes
    _fresh(out)
    if fmt == "hf":
        model.config.use_cache = True
        model.save_pretrained(out, max_shard_size=shard)
    elif fmt == "peft":
        model.save_pretrained(out)
    else:
        merged = model.merge_and_unload()
        merged.config.use_cache = True
        merged.save_pretrained(out, max_shard_size=shard)
    if fmt != "peft":
        _copy_tokenizer(cfg.model.path, out)
    if not glob.glob(os.path.join(out, "*.safetensors")):
        raise ExportError(f"{out}: no safetensors written")
    return out
