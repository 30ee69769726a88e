"""`halo-forge raft train`: the RAFT loop (also behind reasoning/agentic `train`)."""

from __future__ import annotations

import logging
import sys

from halo_forge.cli import common

log = logging.getLogger(__name__)


def add_raft_flags(p, task: bool = True) -> None:
    common.add_config_flag(p)
    common.add_model_flags(p)
    common.add_source_flags(p, task)
    common.add_generation_flags(p)
    common.add_training_flags(p)
    common.add_sandbox_flags(p)
    p.add_argument("--output-dir", "-o", dest="output_dir")
    p.add_argument("--verifier", "-v", help="registered verifier name (default: the task kind's, or each row's type)")
    p.add_argument("--cycles", type=int)
    p.add_argument("--samples-per-prompt", dest="samples_per_prompt", type=int)
    p.add_argument("--reward-threshold", dest="reward_threshold", type=float)
    p.add_argument("--keep-top-percent", dest="keep_top_percent", type=float)
    p.add_argument("--max-per-prompt", dest="max_per_prompt", type=int)
    p.add_argument("--lr-decay", dest="lr_decay", type=float)
    p.add_argument("--min-lr", dest="min_lr", type=float)
    p.add_argument("--resume-from-cycle", dest="resume_from_cycle", type=int)
    common.add_report_flag(p)


RAFT_FLAGS = {"output_dir": "output_dir", "verifier": "verifier.name", "cycles": "cycles",
              "samples_per_prompt": "samples_per_prompt", "reward_threshold": "reward_threshold",
              "keep_top_percent": "keep_top_percent", "max_per_prompt": "max_per_prompt", "lr_decay": "lr_decay",
              "min_lr": "min_lr", "resume_from_cycle": "resume_from_cycle"}


def register(sub) -> None:
    p = sub.add_parser("raft", help="reward-ranked fine-tuning")
    g = p.add_subparsers(dest="raft_command", metavar="ACTION")
    t = g.add_parser("train", help="run RAFT cycles: generate -> verify -> select -> fine-tune")
    add_raft_flags(t)
    t.set_defaults(handler=cmd_train)


def raft_config(args, task: str | None = None):
    from halo_forge.config import RaftConfig, load_config

    ov = common.overrides(args, common.MODEL_FLAGS, common.SOURCE_FLAGS, common.GEN_FLAGS, common.TRAIN_FLAGS,
                          common.LORA_FLAGS, common.SANDBOX_FLAGS, common.REPORT_FLAGS, RAFT_FLAGS)
    common.preset_task(ov, args, task, ("dataset", "prompts"))
    return load_config(RaftConfig, getattr(args, "config", None), ov)


def print_cycle(metrics: dict) -> None:
    """Progress, not the result: a log line, so `-q` leaves only the summary table."""
    t = metrics["timing"]
    log.info(f"cycle {metrics['cycle']}: pass {metrics['pass_rate']:.1%}  reward {metrics['mean_reward']:.3f}  "
          f"kept {metrics['kept']}  lr {metrics['learning_rate']:.2e}  loss {metrics['train_loss'] or 0:.4f}  "
          f"gen {t['generate_s']:.0f}s ({metrics['gen_tokens_per_s']:.0f} tok/s)  verify {t['verify_s']:.0f}s  "
          f"train {t['train_s']:.0f}s  sandbox {metrics.get('isolation', '?')}")


def print_summary(result: dict) -> None:
    from rich.table import Table

    from halo_forge.cli.tables import console

    levels = sorted({str(m.get("isolation", "?")) for m in result["cycles"]})
    t = Table(title=f"RAFT ({result['status']}) — {result['output_dir']} — sandbox: {', '.join(levels) or '?'}")
    for col in ("cycle", "samples", "pass rate", "mean reward", "solved", "kept", "errors", "lr", "gen s", "verify s",
                "train s", "gen tok/s"):
        t.add_column(col, justify="right")
    for m in result["cycles"]:
        tm = m["timing"]
        t.add_row(str(m["cycle"]), str(m["samples"]), f"{m['pass_rate']:.1%}", f"{m['mean_reward']:.3f}",
                  str(m["prompts_solved"]), str(m["kept"]), str(m["errors"]), f"{m['learning_rate']:.1e}",
                  f"{tm['generate_s']:.0f}", f"{tm['verify_s']:.0f}", f"{tm['train_s']:.0f}", f"{m['gen_tokens_per_s']:.0f}")
    console().print(t)


def run_and_report(cfg) -> int:
    from halo_forge.cli.runctl import graceful_stop
    from halo_forge.train.raft import run_raft

    with graceful_stop() as stop:
        result = run_raft(cfg, stop, report=print_cycle)
    print_summary(result)
    if cfg.report and result.get("cycles"):
        common.write_report_after([str(cfg.output_dir)])
    if result["status"] == "interrupted":
        print(f"interrupted: re-run the same command to resume from {cfg.output_dir}", file=sys.stderr)
        return 130
    return 0


def cmd_train(args) -> int:
    return run_and_report(raft_config(args))
