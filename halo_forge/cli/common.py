"""Flag helpers shared by command groups.

Every flag defaults to argparse.SUPPRESS, so `vars(args)` holds only what the user typed;
`overrides()` turns those into dotted config keys. A flag's default can therefore never
replace a value from the YAML file.
"""

from __future__ import annotations

import argparse
from typing import Any

# flag dest -> dotted config key
MODEL_FLAGS = {"model": "model", "device": "device", "dtype": "dtype", "seed": "seed"}
SOURCE_FLAGS = {"dataset": "dataset", "prompts": "prompts", "split": "split", "limit": "limit", "task": "task"}
GEN_FLAGS = {"engine": "generation.engine", "temperature": "generation.temperature", "top_p": "generation.top_p",
             "max_new_tokens": "generation.max_new_tokens", "gen_batch_size": "generation.batch_size"}
TRAIN_FLAGS = {"learning_rate": "training.learning_rate", "epochs": "training.epochs",
               "batch_size": "training.batch_size", "grad_accum": "training.grad_accum",
               "max_steps": "training.max_steps", "max_seq_len": "training.max_seq_len",
               "warmup_ratio": "training.warmup_ratio", "gradient_checkpointing": "training.gradient_checkpointing"}
SANDBOX_FLAGS = {"allow_weak_isolation": "sandbox.allow_weak"}
REPORT_FLAGS = {"report": "report"}
LORA_FLAGS = {"lora": "lora.enabled", "lora_r": "lora.r", "lora_alpha": "lora.alpha"}


def add_config_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="YAML config file; flags given on the command line override it")


def add_model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", help="hub id, local dir, .gguf file, adapter dir, or alias (smollm2-135m-instruct)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument("--seed", type=int)


def task_kind_names() -> list[str]:
    from halo_forge.tasks import TASK_KINDS

    return TASK_KINDS.names()


def engine_names() -> list[str]:
    from halo_forge.generation.base import ENGINES

    return ["auto", *ENGINES.names(), "vllm"]


def add_source_flags(p: argparse.ArgumentParser, task: bool = True) -> None:
    """`task=False` for command groups that fix the kind themselves (audio, vlm)."""
    if task:
        p.add_argument("--task", choices=task_kind_names(), help="task kind: prompt format, default verifier, adapter")
    p.add_argument("--dataset", "-d", help="registered dataset name (see `data prepare --list`)")
    p.add_argument("--prompts", help="task rows: a JSONL file or folder as `data prepare` writes (tasks.jsonl, "
                   "prompts.jsonl), or a seed-prompt template file (.yaml, see configs/seed_prompts/)")
    p.add_argument("--split")
    p.add_argument("--limit", type=int, help="use only the first N tasks")


def add_sandbox_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-weak-isolation", dest="allow_weak_isolation", action="store_true",
                   help="run model-written code even without bubblewrap (rlimits only; see the sandbox threat model)")


def add_report_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-report", dest="report", action="store_false",
                   help="do not write the HTML report at the end (halo-forge report writes it later)")


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


def add_generation_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=engine_names(), help="generation engine (auto: native when it supports the model)")
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-p", dest="top_p", type=float)
    p.add_argument("--max-new-tokens", dest="max_new_tokens", type=int)
    p.add_argument("--gen-batch-size", dest="gen_batch_size", type=int, help="sequences decoded together")


def add_training_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--learning-rate", "--lr", dest="learning_rate", type=float)
    p.add_argument("--epochs", type=float)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--grad-accum", dest="grad_accum", type=int)
    p.add_argument("--max-steps", dest="max_steps", type=int)
    p.add_argument("--max-seq-len", dest="max_seq_len", type=int)
    p.add_argument("--warmup-ratio", dest="warmup_ratio", type=float)
    p.add_argument("--gradient-checkpointing", dest="gradient_checkpointing", action="store_true")
    p.add_argument("--lora", dest="lora", action=argparse.BooleanOptionalAction, help="LoRA (default) or --no-lora for full fine-tuning")
    p.add_argument("--lora-r", dest="lora_r", type=int)
    p.add_argument("--lora-alpha", dest="lora_alpha", type=int)


def overrides(args: argparse.Namespace, *maps: dict[str, str]) -> dict[str, Any]:
    given = vars(args)
    out: dict[str, Any] = {}
    for mapping in maps:
        for dest, key in mapping.items():
            if dest in given:
                out[key] = given[dest]
    return out


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
