"""RUN/config.json (docs/training-config.md, version 1) as dataclasses.

Every key is required and no other key is allowed; nothing is defaulted here. Errors are one line naming the file and
the key path (`config.json: training.max_grad_norm: expected a number, got "1"`).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Recipe:
    name: str
    file: str
    sha256: str


@dataclass(frozen=True)
class Model:
    path: str
    dtype: str
    attn_implementation: str


@dataclass(frozen=True)
class Data:
    path: str
    tokens: list[str]
    loss_mask: list[str]
    sequences: int
    sequence_length: int
    pad_id: int
    vocab_size: int
    supervised_tokens: int


@dataclass(frozen=True)
class Batch:
    world_size: int
    micro_batch_size: int
    gradient_accumulation_steps: int
    global_batch_size: int


@dataclass(frozen=True)
class Optimizer:
    name: str
    lr: float
    betas: list[float]
    eps: float
    weight_decay: float


@dataclass(frozen=True)
class Schedule:
    name: str
    warmup_steps: int
    min_lr_ratio: float


@dataclass(frozen=True)
class Training:
    epochs: int
    steps_per_epoch: int
    total_steps: int
    seed: int
    max_grad_norm: float
    loss_normalization: str
    pad_in_loss: bool
    mixed_precision: str
    activation_checkpointing: bool
    reshard_after_forward: bool
    nan_guard: bool


@dataclass(frozen=True)
class Lora:
    r: int
    alpha: float
    dropout: float
    target_modules: list[str]


@dataclass(frozen=True)
class Checkpoint:
    every_steps: int
    keep: int


@dataclass(frozen=True)
class Logging:
    every_steps: int


@dataclass(frozen=True)
class Export:
    formats: list[str]
    max_shard_bytes: int


@dataclass(frozen=True)
class Config:
    version: int
    task: str
    recipe: Recipe
    run_dir: str
    model: Model
    data: Data
    batch: Batch
    optimizer: Optimizer
    schedule: Schedule
    training: Training
    lora: typing.Optional[Lora]
    checkpoint: Checkpoint
    logging: Logging
    export: Export


def _type_name(value) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _convert(value, annotation, where: str, file: str):
    origin = typing.get_origin(annotation)
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in typing.get_args(annotation) if a is not type(None)][0]
        return None if value is None else _convert(value, inner, where, file)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: {where}: expected an object, got {_type_name(value)}")
        return _build(annotation, value, where + ".", file)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{file}: {where}: expected an array, got {_type_name(value)}")
        (item,) = typing.get_args(annotation)
        return [_convert(v, item, f"{where}[{i}]", file) for i, v in enumerate(value)]
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{file}: {where}: expected a boolean, got {_type_name(value)}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{file}: {where}: expected an integer, got {_type_name(value)}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{file}: {where}: expected a number, got {_type_name(value)}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{file}: {where}: expected a string, got {_type_name(value)}")
        return value
    raise TypeError(annotation)


def _build(cls, obj: dict, prefix: str, file: str):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in obj:
        if key not in hints:
            raise ConfigError(f"{file}: unknown key {prefix}{key}")
    for name in names:
        if name not in obj:
            raise ConfigError(f"{file}: missing key {prefix}{name}")
    return cls(**{name: _convert(obj[name], hints[name], prefix + name, file) for name in names})


def _check(config: Config, file: str) -> None:
    def fail(key, message):
        raise ConfigError(f"{file}: {key}: {message}")

    def choice(key, value, allowed):
        if value not in allowed:
            fail(key, f"{json.dumps(value)} is not one of {', '.join(allowed)}")

    if config.version != 1:
        fail("version", f"{config.version} is not supported (expected 1)")
    choice("task", config.task, ["pretrain", "sft"])
    choice("model.dtype", config.model.dtype, ["float32", "bfloat16"])
    choice("model.attn_implementation", config.model.attn_implementation, ["sdpa", "eager"])
    d = config.data
    if len(d.tokens) == 0:
        fail("data.tokens", "is empty")
    if len(d.tokens) != len(d.loss_mask):
        fail("data.loss_mask", f"has {len(d.loss_mask)} datasets, data.tokens has {len(d.tokens)}")
    for key, value in [("data.sequences", d.sequences), ("data.sequence_length", d.sequence_length), ("data.vocab_size", d.vocab_size)]:
        if value <= 0:
            fail(key, f"must be positive, got {value}")
    if not 0 <= d.pad_id < d.vocab_size:
        fail("data.pad_id", f"{d.pad_id} is not below data.vocab_size {d.vocab_size}")
    b = config.batch
    for key, value in [("batch.world_size", b.world_size), ("batch.micro_batch_size", b.micro_batch_size),
                       ("batch.gradient_accumulation_steps", b.gradient_accumulation_steps)]:
        if value <= 0:
            fail(key, f"must be positive, got {value}")
    if b.global_batch_size != b.world_size * b.micro_batch_size * b.gradient_accumulation_steps:
        fail("batch.global_batch_size", f"{b.global_batch_size} != world_size × micro_batch_size × gradient_accumulation_steps "
             f"= {b.world_size * b.micro_batch_size * b.gradient_accumulation_steps}")
    o = config.optimizer
    choice("optimizer.name", o.name, ["adamw"])
    if len(o.betas) != 2:
        fail("optimizer.betas", f"needs 2 numbers, got {len(o.betas)}")
    if o.lr < 0 or o.eps <= 0 or o.weight_decay < 0:
        fail("optimizer", "lr and weight_decay must be ≥ 0 and eps > 0")
    s = config.schedule
    choice("schedule.name", s.name, ["constant", "linear", "cosine"])
    if s.warmup_steps < 0:
        fail("schedule.warmup_steps", f"must be ≥ 0, got {s.warmup_steps}")
    if not 0.0 <= s.min_lr_ratio <= 1.0:
        fail("schedule.min_lr_ratio", f"must be in [0, 1], got {s.min_lr_ratio}")
    if s.name == "constant" and s.min_lr_ratio != 0.0:
        fail("schedule.min_lr_ratio", "must be 0 for the constant schedule")
    t = config.training
    if t.epochs <= 0 or t.steps_per_epoch <= 0:
        fail("training.steps_per_epoch", f"epochs {t.epochs} and steps_per_epoch {t.steps_per_epoch} must be positive")
    if t.steps_per_epoch * b.global_batch_size > d.sequences:
        fail("training.steps_per_epoch", f"{t.steps_per_epoch} steps × global batch {b.global_batch_size} exceed data.sequences {d.sequences}")
    if not 0 < t.total_steps <= t.epochs * t.steps_per_epoch:
        fail("training.total_steps", f"{t.total_steps} is not in 1...epochs × steps_per_epoch = {t.epochs * t.steps_per_epoch}")
    if t.max_grad_norm < 0:
        fail("training.max_grad_norm", f"must be ≥ 0, got {t.max_grad_norm}")
    choice("training.loss_normalization", t.loss_normalization, ["global_tokens", "per_micro_batch"])
    choice("training.mixed_precision", t.mixed_precision, ["bf16", "fp32"])
    if config.lora is not None:
        if config.lora.r <= 0:
            fail("lora.r", f"must be positive, got {config.lora.r}")
        if not 0.0 <= config.lora.dropout < 1.0:
            fail("lora.dropout", f"must be in [0, 1), got {config.lora.dropout}")
        if not config.lora.target_modules:
            fail("lora.target_modules", "is empty")
    if config.checkpoint.every_steps <= 0 or config.checkpoint.keep <= 0:
        fail("checkpoint", "every_steps and keep must be positive")
    if config.logging.every_steps <= 0:
        fail("logging.every_steps", "must be positive")
    for i, f in enumerate(config.export.formats):
        choice(f"export.formats[{i}]", f, ["hf", "peft", "merged"])
        if f in ("peft", "merged") and config.lora is None:
            fail(f"export.formats[{i}]", f"{f} needs a LoRA run (lora is null)")
        if f == "hf" and config.lora is not None:
            fail(f"export.formats[{i}]", "hf exports a full fine-tune; a LoRA run exports peft or merged")
    if config.export.max_shard_bytes <= 0:
        fail("export.max_shard_bytes", "must be positive")


def parse(obj, file: str = "config.json") -> Config:
    if not isinstance(obj, dict):
        raise ConfigError(f"{file}: expected a JSON object at the top level")
    config = _build(Config, obj, "", file)
    _check(config, file)
    return config


def load(path: str) -> Config:
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    try:
        obj = json.loads(text)
    except ValueError as error:
        raise ConfigError(f"{path}: not JSON ({error})") from None
    return parse(obj, path)


def to_dict(config: Config) -> dict:
    return dataclasses.asdict(config)
