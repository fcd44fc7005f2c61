"""Helpers the checks run in their own processes.

    python workers.py trainer RUN/config.json OUT.json   # transformers.Trainer on the same batches (1 process, fp32)
    torchrun ... workers.py adapters RUN/config.json OUT_DIR   # each rank resumes and dumps its full adapter tensors
    torchrun ... workers.py multi RUN1/config.json RUN2/config.json ...   # several runs in the same processes
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def trainer(config_path, out):
    import torch
    from torch.utils.data import SequentialSampler
    from transformers import AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments, default_data_collator

    from mmedtrain import config as config_mod, data as data_mod, optim
    from mmedtrain.sampler import GlobalOrder
    from mmedtrain.train import labels_for

    cfg = config_mod.load(config_path)
    b, t = cfg.batch, cfg.training
    assert b.world_size == 1 and cfg.lora is None
    dataset = data_mod.open_config_data(cfg.data)
    order = GlobalOrder(cfg.data.sequences, b.global_batch_size, t.steps_per_epoch, t.seed)
    items = []
    for step in range(t.total_steps):  # the batches mmedtrain feeds, in its order, one micro-batch per item
        for m in range(b.gradient_accumulation_steps):
            for index in order.micro_batch(step, m, 0, 1, b.micro_batch_size):
                tokens, mask = dataset[int(index)]
                ids = torch.full((cfg.data.sequence_length,), cfg.data.pad_id, dtype=torch.long)
                labels = torch.full((cfg.data.sequence_length,), cfg.data.pad_id if t.pad_in_loss else -100, dtype=torch.long)
                ids[:len(tokens)] = torch.from_numpy(tokens.astype("int64"))
                labels[:len(tokens)] = torch.from_numpy(labels_for(tokens, mask))
                items.append({"input_ids": ids, "labels": labels})

    class Ordered(Trainer):
        step_losses, current, norms = [], 0.0, []

        def _clip_grad_norm(self, model):
            norm = super()._clip_grad_norm(model)
            Ordered.norms.append(float(norm))
            return norm

        def _get_train_sampler(self, train_dataset=None):
            return SequentialSampler(train_dataset if train_dataset is not None else self.train_dataset)

        def training_step(self, model, inputs, num_items_in_batch=None):
            loss = super().training_step(model, inputs, num_items_in_batch)
            Ordered.current += float(loss)
            return loss

    lrs = []

    class Record(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            Ordered.step_losses.append(Ordered.current)
            Ordered.current = 0.0

        def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
            lrs.append(optimizer.param_groups[0]["lr"])

    torch.manual_seed(t.seed)
    model = AutoModelForCausalLM.from_pretrained(cfg.model.path, dtype=torch.float32, attn_implementation=cfg.model.attn_implementation)
    model.config.use_cache = False
    scheduler = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}[cfg.schedule.name]
    kwargs = {}
    if cfg.schedule.name == "cosine" and cfg.schedule.min_lr_ratio:
        scheduler, kwargs = "cosine_with_min_lr", {"min_lr_rate": cfg.schedule.min_lr_ratio}
    args = TrainingArguments(
        output_dir=os.path.join(os.path.dirname(out), "hf_trainer"), per_device_train_batch_size=b.micro_batch_size,
        gradient_accumulation_steps=b.gradient_accumulation_steps, max_steps=t.total_steps, learning_rate=cfg.optimizer.lr,
        weight_decay=cfg.optimizer.weight_decay, adam_beta1=cfg.optimizer.betas[0], adam_beta2=cfg.optimizer.betas[1],
        adam_epsilon=cfg.optimizer.eps, max_grad_norm=t.max_grad_norm, lr_scheduler_type=scheduler,
        lr_scheduler_kwargs=kwargs, warmup_steps=cfg.schedule.warmup_steps, logging_steps=1, save_strategy="no",
        report_to=[], seed=t.seed, optim="adamw_torch", use_cpu=True, dataloader_num_workers=0,
        remove_unused_columns=False, disable_tqdm=True)
    trainer = Ordered(model=model, args=args, train_dataset=items, data_collator=default_data_collator, callbacks=[Record()])
    hf_decay = sorted(trainer.get_decay_parameter_names(model))
    ours = sorted(optim.decay_parameter_names(model))
    trainer.train()
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()},
              os.path.join(os.path.dirname(out), "hf_trainer_final.safetensors"))
    with open(out, "w") as handle:
        json.dump({"losses": Ordered.step_losses, "grad_norms": Ordered.norms, "lrs": lrs, "hf_decay": hf_decay, "our_decay": ours,
                   "no_decay": sorted(set(n for n, _ in model.named_parameters()) - set(hf_decay))}, handle)


def adapters(config_path, out_dir):
    import torch
    from safetensors.torch import save_file

    from mmedtrain import checkpoint, config as config_mod, optim, parallel
    from mmedtrain.train import build_model

    cfg = config_mod.load(config_path)
    rank, world, device = parallel.init_distributed()
    model = build_model(cfg, rank, device)
    optimizer = optim.build(model, cfg.optimizer)
    step = checkpoint.complete_steps(cfg.run_dir)[-1]
    checkpoint.load(model, optimizer, checkpoint.step_path(cfg.run_dir, step))
    tensors = {}
    for name, parameter in model.named_parameters():
        if "lora_" in name:
            full = parameter.full_tensor() if hasattr(parameter, "full_tensor") else parameter
            tensors[name] = full.detach().cpu().contiguous()
    os.makedirs(out_dir, exist_ok=True)
    save_file(tensors, os.path.join(out_dir, f"rank_{rank}.safetensors"))
    torch.distributed.destroy_process_group()


def multi(*config_paths):
    """Several training runs, one after the other, in the same torchrun processes (saves start-up time)."""
    import torch.distributed as dist

    from mmedtrain import train

    for path in config_paths:
        if train.run(path, keep_process_group=True) != 0:
            sys.exit(f"{path}: run failed")
    dist.destroy_process_group()


if __name__ == "__main__":
    {"trainer": trainer, "adapters": adapters, "multi": multi}[sys.argv[1]](*sys.argv[2:])
