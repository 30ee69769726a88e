"""Option tables and helpers shared by command groups.

Every flag defaults to argparse.SUPPRESS, so `vars(args)` holds only what the user typed; the
options generated from the config (cli/options.py) have dotted config keys as their dest, so a
flag's default can never replace a value from the YAML file.
"""

from __future__ import annotations

import argparse
from typing import Any

from halo_forge.cli.options import Opt, opt

# Which config fields each command exposes, grouped; type, choices and help come from the config.
MODEL_OPTS = [opt("model", "--model", "-m"), opt("device"), opt("dtype"), opt("seed")]
SOURCE_OPTS = [opt("task"), opt("dataset", "--dataset", "-d"), opt("prompts", "--prompts", "--task-file"), opt("split"),
               opt("limit")]
GEN_OPTS = [opt("generation.engine", "--engine"), opt("generation.temperature", "--temperature"),
            opt("generation.top_p", "--top-p"), opt("generation.top_k", "--top-k"),
            opt("generation.max_new_tokens", "--max-new-tokens"), opt("generation.batch_size", "--gen-batch-size"),
            opt("generation.dtype", "--generation-dtype")]
TRAIN_OPTS = [opt("training.learning_rate", "--learning-rate", "--lr"), opt("training.epochs", "--epochs"),
              opt("training.batch_size", "--batch-size"), opt("training.grad_accum", "--grad-accum"),
              opt("training.max_steps", "--max-steps"), opt("training.max_seq_len", "--max-seq-len"),
              opt("training.warmup_ratio", "--warmup-ratio"), opt("training.lr_scheduler", "--lr-scheduler"),
              opt("training.gradient_checkpointing", "--gradient-checkpointing"),
              opt("lora.enabled", "--lora"), opt("lora.r", "--lora-r"), opt("lora.alpha", "--lora-alpha")]
SANDBOX_OPTS = [opt("sandbox.allow_weak", "--allow-weak-isolation")]
REPORT_OPTS = [opt("report", "--report")]


def without_task(options: list[Opt]) -> list[Opt]:
    """For command groups that fix the task kind themselves (audio, vlm, reasoning, agentic)."""
    return [o for o in options if o.key != "task"]


def add_config_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="YAML config file; flags given on the command line override it")


def task_kind_names() -> list[str]:
    from halo_forge.tasks import TASK_KINDS

    return TASK_KINDS.names()


def engine_names() -> list[str]:
    from halo_forge.generation.base import ENGINES

    return ["auto", *ENGINES.names(), "vllm"]


def write_report_after(inputs: list[str], output: str | None = None, to_stderr: bool = False) -> None:
    """The run's last line is its report's path. A report that fails to render is a warning:
    the run's results are already written and are what matters."""
    import logging

    from halo_forge.report import write_report

    log = logging.getLogger(__name__)
    try:
        path = write_report(inputs, output)
        if to_stderr:
            log.info("report: %s", path)
        else:
            print(f"report: {path}")
    except Exception as exc:  # noqa: BLE001 - never fail a finished run over its report
        log.warning("report not written (%s: %s); run `halo-forge report %s` later",
                                            type(exc).__name__, exc, " ".join(inputs))


def preset_task(ov: dict[str, Any], args: argparse.Namespace, task: str | None, source_keys: tuple[str, ...]) -> dict:
    """`reasoning train` & co.: the task kind, and its default dataset and model when no config
    file was given and the command line names none."""
    if task:
        ov.setdefault("task", task)
        if not getattr(args, "config", None):
            from halo_forge.tasks import get_task_kind

            kind = get_task_kind(task)
            if not any(k in ov for k in source_keys):
                ov["dataset"] = kind.default_dataset
            ov.setdefault("model", kind.default_model)
    return ov


def positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def parse_k(text: str) -> list[int]:
    try:
        ks = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k must be a comma-separated list of integers, got '{text}'") from None
    if not ks:
        raise argparse.ArgumentTypeError("--k is empty")
    return ks
