"""One optimisation routine for SFT and every RAFT cycle, on transformers' Trainer.

We use Trainer (not a hand-written loop) for gradient accumulation, mixed precision,
checkpoint/resume, gradient checkpointing and TensorBoard logging; we supply the pieces
Trainer does not get right for us: completion-only collation, a capped warm-up, and a
callback that stops within one step on Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from halo_forge.config.schema import LoraConfig, TrainingConfig
from halo_forge.distributed import SINGLE, World, per_rank_batch
from halo_forge.generation.cpu_threads import size_cpu_threads_for
from halo_forge.progress import trainer_callback
from halo_forge.train.examples import Example, ExampleDataset
from halo_forge.train.numerics import StopOnNonFinite, check_finite, training_attention
from halo_forge.train.schedule import optimizer_steps, tokens_trained, warmup_steps

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from halo_forge.models.adapters.base import Batcher


class _StopOnEvent(TrainerCallback):
    def __init__(self, event: threading.Event | None):
        self.event = event

    def on_step_end(self, args, state, control, **kwargs):
        if self.event is not None and self.event.is_set():
            control.should_training_stop = True
            control.should_save = False
        return control


@dataclass
class TrainOutcome:
    steps: int
    loss: float | None
    interrupted: bool
    learning_rate: float
    examples: int
    tokens: int


def attach_lora(model: Any, lora: LoraConfig, task_type: str | None = "CAUSAL_LM") -> Any:
    """Wrap in a trainable LoRA adapter (once: an adapter model is returned as is).
    `task_type` comes from the model adapter."""
    from peft import LoraConfig as PeftLoraConfig
    from peft import PeftModel, get_peft_model

    if isinstance(model, PeftModel):
        return model
    cfg = PeftLoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                         target_modules=lora.target_modules, task_type=task_type)
    return get_peft_model(model, cfg)


def _use_bf16(model: Any) -> bool:
    return model.device.type == "cuda" and torch.cuda.is_bf16_supported()


def train_on_examples(model: Any, batcher: Batcher, examples: list[Example], cfg: TrainingConfig, learning_rate: float,
                      output_dir: str, seed: int, stop_event: threading.Event | None = None,
                      eval_examples: list[Example] | None = None, save_checkpoints: bool = False,
                      resume: bool = False, early_stopping_patience: int | None = None,
                      world: World = SINGLE) -> TrainOutcome:
    """`batcher` (from the model adapter) encodes an Example into a row and collates rows.
    Under torch.distributed every rank passes the same examples; Trainer (through accelerate)
    wraps the model in DDP and deals each rank every world-size-th micro-batch, and the per-rank
    batch/accumulation keep the one-process recipe's global batch."""
    rows = [batcher.encode(ex, cfg.max_seq_len) for ex in examples]
    rows = [r for r in rows if any(l != -100 for l in r["labels"])]
    if not rows:
        return TrainOutcome(0, None, False, learning_rate, 0, 0)
    total = optimizer_steps(len(rows), cfg.batch_size, cfg.grad_accum, cfg.epochs, cfg.max_steps)
    eval_rows = [batcher.encode(ex, cfg.max_seq_len) for ex in (eval_examples or [])]
    do_eval = bool(eval_rows)
    args = _training_args(model, cfg, learning_rate, output_dir, seed, total, per_rank_batch(
        cfg.batch_size, cfg.grad_accum, world.size), save=save_checkpoints or do_eval, do_eval=do_eval,
        best_at_end=do_eval and early_stopping_patience is not None)
    size_cpu_threads_for(model.device)
    if cfg.gradient_checkpointing and hasattr(model, "enable_input_require_grads"):
        model.enable_input_require_grads()
    finite = StopOnNonFinite()
    callbacks: list[TrainerCallback] = [_StopOnEvent(stop_event), trainer_callback(), finite]
    if do_eval and early_stopping_patience:
        from transformers import EarlyStoppingCallback

        callbacks.append(EarlyStoppingCallback(early_stopping_patience=early_stopping_patience))
    trainer = Trainer(model=model, args=args, train_dataset=ExampleDataset(rows),
                      eval_dataset=ExampleDataset(eval_rows) if do_eval else None,
                      data_collator=batcher, callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # it prints raw log dicts; trainer_callback() reports instead
    model.train()
    with training_attention():
        result = trainer.train(resume_from_checkpoint=_last_checkpoint(output_dir) if resume else None)
    model.eval()
    check_finite(model, finite, output_dir)
    interrupted = bool(stop_event is not None and stop_event.is_set())
    tokens = tokens_trained(sum(len(r["labels"]) for r in rows), len(rows), trainer.state.global_step,
                            cfg.batch_size * cfg.grad_accum, cfg.epochs)
    return TrainOutcome(trainer.state.global_step, float(result.training_loss), interrupted, learning_rate, len(rows), tokens)


def _training_args(model: Any, cfg: TrainingConfig, learning_rate: float, output_dir: str, seed: int, total: int,
                   per_rank: tuple[int, int], save: bool, do_eval: bool, best_at_end: bool) -> TrainingArguments:
    batch_size, grad_accum = per_rank
    return TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        learning_rate=learning_rate,
        max_steps=total,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=warmup_steps(total, cfg.warmup_ratio),
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        logging_steps=min(cfg.logging_steps, total),
        logging_nan_inf_filter=False,  # a NaN loss must be seen (numerics.StopOnNonFinite), not averaged away
        save_strategy="steps" if save else "no",
        save_steps=max(1, total // 4) if save else 500,
        save_total_limit=2,
        eval_strategy="steps" if do_eval else "no",
        eval_steps=max(1, total // 4) if do_eval else None,
        load_best_model_at_end=best_at_end,
        metric_for_best_model="eval_loss" if do_eval else None,
        report_to=["tensorboard"] if _has_tensorboard() else [],
        seed=seed,
        data_seed=seed,
        bf16=_use_bf16(model),
        use_cpu=model.device.type == "cpu",
        gradient_checkpointing=cfg.gradient_checkpointing,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=True,  # halo_forge.progress reports steps in the run's one progress style
    )


def _has_tensorboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _last_checkpoint(output_dir: str) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
