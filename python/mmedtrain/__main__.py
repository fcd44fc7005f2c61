"""python -m mmedtrain train RUN/config.json | python -m mmedtrain export RUN --step N --format hf|peft|merged"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="mmedtrain", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="run the training loop (under torchrun)")
    train.add_argument("config")
    export = sub.add_parser("export", help="export a checkpoint")
    export.add_argument("run_dir")
    export.add_argument("--step", type=int, help="checkpoint step (default: the newest complete one)")
    export.add_argument("--format", required=True, choices=["hf", "peft", "merged"])
    export.add_argument("--out", help="output folder (default RUN/export/FORMAT)")
    args = parser.parse_args(argv)

    from .config import ConfigError
    from .data import DataError
    from .export import ExportError
    from .lora import LoraError
    from .model import ModelError
    from .train import TrainingError

    known = (ConfigError, DataError, ExportError, LoraError, ModelError, TrainingError)
    try:
        if args.command == "train":
            from . import train as train_mod

            return train_mod.run(args.config)
        from . import checkpoint, export as export_mod

        step = args.step
        if step is None:
            steps = checkpoint.complete_steps(args.run_dir)
            if not steps:
                raise ExportError(f"{args.run_dir}/checkpoints: no complete checkpoint")
            step = steps[-1]
        print(export_mod.export(args.run_dir, step, args.format, args.out))
        return 0
    except known as error:
        print(f"mmedtrain: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
