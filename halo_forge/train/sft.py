"""`sft train`: supervised fine-tuning on a registered dataset or a local JSONL.

Registered datasets contribute (prompt, reference) pairs rendered through the task kind;
local files may be `text`, `messages` or `prompt`+`response` rows. Writes `final_model/`
(adapter; merged weights on request) and TensorBoard logs under the output dir.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from pathlib import Path

from halo_forge.config.schema import SFTConfig
from halo_forge.distributed import init_world
from halo_forge.data.jsonl import iter_jsonl, write_json_atomic
from halo_forge.data.registry import load_tasks
from halo_forge.errors import DataError
from halo_forge.tasks import get_task_kind
from halo_forge.train.examples import Example, example_from_row

log = logging.getLogger(__name__)


def load_sft_examples(cfg: SFTConfig) -> list[Example]:
    if cfg.data_file:
        rows = [example_from_row(obj if isinstance(obj, dict) else {}, f"{cfg.data_file}:{line}")
                for line, obj in iter_jsonl(cfg.data_file)]
    else:
        kind = get_task_kind(cfg.task)
        tasks = load_tasks(cfg.dataset or "", cfg.split)
        rows = [Example(kind.build_messages(t), t.reference, media=t.media) for t in tasks if t.reference]
        if not rows:
            raise DataError(f"dataset '{cfg.dataset}' split '{cfg.split}' has no reference answers to train on")
    if not rows:
        raise DataError(f"no training rows in {cfg.data_file or cfg.dataset}")
    return rows[: cfg.limit] if cfg.limit else rows


def run_sft(cfg: SFTConfig, stop_event: threading.Event | None = None) -> dict:
    import torch

    from halo_forge.train.trainer import attach_lora, train_on_examples

    w = init_world(cfg.device)  # under torchrun: DDP through Trainer, rank 0 writes
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    examples = load_sft_examples(cfg)
    eval_examples: list[Example] = []
    if cfg.eval_fraction > 0:
        rng = random.Random(cfg.seed)
        order = list(range(len(examples)))
        rng.shuffle(order)
        n_eval = max(1, int(len(examples) * cfg.eval_fraction))
        eval_examples = [examples[i] for i in order[:n_eval]]
        examples = [examples[i] for i in order[n_eval:]]
    adapter = get_task_kind(cfg.task).model_adapter
    model, tok = adapter.load(cfg.model, cfg.device, cfg.dtype, trainable_adapter=True)
    if cfg.lora.enabled:
        model = attach_lora(model, cfg.lora, adapter.lora_task_type)
    start = time.monotonic()
    outcome = train_on_examples(model, adapter.batcher(tok), examples, cfg.training, cfg.training.learning_rate,
                                str(out / "checkpoints"), cfg.seed, stop_event, eval_examples or None,
                                save_checkpoints=cfg.checkpoints, resume=cfg.resume,
                                early_stopping_patience=cfg.early_stopping_patience, world=w)
    final = out / "final_model"
    if not w.is_main:
        return {"final_model": str(final) if not outcome.interrupted else None, "interrupted": outcome.interrupted}
    if not outcome.interrupted:
        model.save_pretrained(final)
        tok.save_pretrained(final)
        if cfg.merge and cfg.lora.enabled:
            merged = model.merge_and_unload()
            merged.save_pretrained(out / "merged_model")
            tok.save_pretrained(out / "merged_model")
    summary = {
        "model": cfg.model,
        "examples": outcome.examples,
        "eval_examples": len(eval_examples),
        "steps": outcome.steps,
        "train_loss": outcome.loss,
        "tokens": outcome.tokens,
        "wall_time_s": round(time.monotonic() - start, 2),
        "processes": w.size,
        "interrupted": outcome.interrupted,
        "final_model": str(final) if not outcome.interrupted else None,
        "config": json.loads(cfg.model_dump_json()),
    }
    write_json_atomic(out / "sft_summary.json", summary)
    return summary
