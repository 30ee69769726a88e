"""`halo-forge sft {train,datasets}`."""

from __future__ import annotations

import json

from halo_forge.cli import common
from halo_forge.cli.options import Opt, add_options, config_overrides, opt


SFT_OPTS = [opt("dataset", "--dataset", "-d"), opt("data_file", "--data"), opt("split"), opt("limit"),
            opt("output_dir", "--output-dir", "-o"), opt("eval_fraction", "--eval-fraction"),
            opt("early_stopping_patience", "--early-stopping-patience"), opt("merge"), opt("resume"), opt("checkpoints")]


def sft_options(task: bool = True) -> list[Opt]:
    opts = [opt("task"), *common.MODEL_OPTS, *common.TRAIN_OPTS, *SFT_OPTS]
    return opts if task else common.without_task(opts)


def add_sft_flags(p, task: bool = True) -> None:
    from halo_forge.config import SFTConfig

    common.add_config_flag(p)
    add_options(p, SFTConfig, sft_options(task))


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

    ov = config_overrides(args, sft_options())
    common.preset_task(ov, args, task, ("dataset", "data_file"))
    return load_config(SFTConfig, getattr(args, "config", None), ov)


def run_and_report(cfg) -> int:
    from halo_forge.cli.runctl import graceful_stop
    from halo_forge.distributed import world_from_env
    from halo_forge.train.sft import run_sft

    with graceful_stop() as stop:
        summary = run_sft(cfg, stop)
    if world_from_env().is_main:
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
