"""`halo-forge sft {train,datasets}`."""

from __future__ import annotations

import json

from halo_forge.cli import common


def add_sft_flags(p) -> None:
    common.add_config_flag(p)
    common.add_model_flags(p)
    common.add_training_flags(p)
    p.add_argument("--dataset", "-d", help="registered dataset whose reference answers are the targets")
    p.add_argument("--data", dest="data_file", help="local JSONL: text, messages or prompt+response rows")
    p.add_argument("--split")
    p.add_argument("--limit", type=int)
    p.add_argument("--output-dir", "-o", dest="output_dir")
    p.add_argument("--eval-fraction", dest="eval_fraction", type=float)
    p.add_argument("--early-stopping-patience", dest="early_stopping_patience", type=int)
    p.add_argument("--merge", action="store_true", help="also write merged full weights (LoRA)")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last checkpoint")


SFT_FLAGS = {"dataset": "dataset", "data_file": "data_file", "split": "split", "limit": "limit",
             "output_dir": "output_dir", "eval_fraction": "eval_fraction",
             "early_stopping_patience": "early_stopping_patience", "merge": "merge", "resume": "resume"}


def register(sub) -> None:
    p = sub.add_parser("sft", help="supervised fine-tuning")
    g = p.add_subparsers(dest="sft_command", metavar="ACTION")
    t = g.add_parser("train", help="fine-tune on reference answers or a local JSONL")
    add_sft_flags(t)
    t.set_defaults(handler=cmd_train)
    d = g.add_parser("datasets", help="datasets usable for SFT")
    d.set_defaults(handler=cmd_datasets)


def sft_config(args, task: str | None = None):
    from halo_forge.config import SFTConfig, load_config

    ov = common.overrides(args, common.MODEL_FLAGS, common.TRAIN_FLAGS, common.LORA_FLAGS, SFT_FLAGS)
    common.preset_task(ov, args, task, ("dataset", "data_file"))
    return load_config(SFTConfig, getattr(args, "config", None), ov)


def run_and_report(cfg) -> int:
    from halo_forge.cli.runctl import graceful_stop
    from halo_forge.train.sft import run_sft

    with graceful_stop() as stop:
        summary = run_sft(cfg, stop)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 130 if summary["interrupted"] else 0


def cmd_train(args) -> int:
    return run_and_report(sft_config(args))


def list_datasets(kind: str | None = None) -> None:
    from halo_forge.data.registry import DATASETS, dataset_names

    for name in dataset_names():
        info = DATASETS[name]
        if kind and info.kind != kind:
            continue
        print(f"{name:16s} {info.kind:10s} {'offline' if info.offline else 'hub':8s} {info.description}")


def cmd_datasets(args) -> int:
    list_datasets()
    return 0
