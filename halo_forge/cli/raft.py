"""`halo-forge raft train`: the RAFT loop (also behind reasoning/agentic `train`)."""

from __future__ import annotations

import logging
import sys

from halo_forge.cli import common
from halo_forge.cli.options import Opt, add_options, config_overrides, opt

log = logging.getLogger(__name__)


RAFT_OPTS = [opt("output_dir", "--output-dir", "-o"), opt("verifier.name", "--verifier", "-v"), opt("cycles"),
             opt("samples_per_prompt", "--samples-per-prompt", "-n"), opt("lr_decay", "--lr-decay"),
             opt("min_lr", "--min-lr"), opt("resume_from_cycle", "--resume-from-cycle"),
             opt("verifier.workers", "--verify-workers"), opt("verifier.processes", "--verify-processes"),
             opt("prompts_per_cycle", "--prompts-per-cycle"), opt("unsolved_extra", "--unsolved-extra"),
             opt("validation_prompts", "--validation-prompts")]
SELECTION_OPTS = [opt("selection." + name, "--" + name.replace("_", "-"))
                  for name in ("select_on", "reward_threshold", "keep_top_percent", "max_per_prompt", "drop_uniform",
                               "replay_cycles")]
SIGNAL_OPTS = [opt("probe.prompts", "--probe-prompts"), opt("probe.strict", "--probe-strict"),
               opt("probe.drop_solved", "--drop-solved"), opt("eval.dataset", "--eval-dataset"),
               opt("eval.prompts", "--eval-prompts"), opt("eval.split", "--eval-split"),
               opt("eval.limit", "--eval-limit"), opt("validation.dataset", "--validation-dataset"),
               opt("validation.prompts", "--validation-file"), opt("validation.split", "--validation-split")]


def raft_options(task: bool = True) -> list[Opt]:
    opts = [*common.MODEL_OPTS, *common.SOURCE_OPTS, *common.GEN_OPTS, *common.TRAIN_OPTS, *common.SANDBOX_OPTS,
            *common.REPORT_OPTS, *RAFT_OPTS, *SELECTION_OPTS, *SIGNAL_OPTS]
    return opts if task else common.without_task(opts)


def add_raft_flags(p, task: bool = True) -> None:
    from halo_forge.config import RaftConfig

    common.add_config_flag(p)
    add_options(p, RaftConfig, raft_options(task))


def register(sub) -> None:
    p = sub.add_parser("raft", help="reward-ranked fine-tuning")
    g = p.add_subparsers(dest="raft_command", metavar="ACTION")
    t = g.add_parser("train", help="run RAFT cycles: generate -> verify -> select -> fine-tune")
    add_raft_flags(t)
    t.set_defaults(handler=cmd_train)


def raft_config(args, task: str | None = None):
    from halo_forge.config import RaftConfig, load_config

    ov = config_overrides(args, raft_options())
    common.preset_task(ov, args, task, ("dataset", "prompts"))
    return load_config(RaftConfig, getattr(args, "config", None), ov)


def _num(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def print_cycle(metrics: dict) -> None:
    """Progress, not the result: a log line, so `-q` leaves only the summary table."""
    t = metrics["timing"]
    log.info(f"cycle {metrics['cycle']}: pass {metrics['pass_rate']:.1%}  reward {_num(metrics['mean_reward'])}  "
          f"kept {metrics['kept']}  lr {metrics['learning_rate']:.2e}  loss {metrics['train_loss'] or 0:.4f}  "
          f"gen {t['generate_s']:.0f}s ({metrics['gen_tokens_per_s']:.0f} tok/s)  verify {t['verify_s']:.0f}s "
          f"(tail {t.get('verify_tail_s', 0):.0f}s)  "
          f"train {t['train_s']:.0f}s  sandbox {metrics.get('isolation', '?')}")


def print_summary(result: dict) -> None:
    from rich.table import Table

    from halo_forge.cli.tables import console

    levels = sorted({str(m.get("isolation", "?")) for m in result["cycles"]})
    t = Table(title=f"RAFT ({result['status']}) — {result['output_dir']} — sandbox: {', '.join(levels) or '?'}")
    heldout = any(_heldout_p1(m.get("heldout")) is not None for m in result["cycles"])
    for col in ("cycle", "samples", "pass rate", "mean reward", "solved", "kept", "errors", "lr", "gen s",
                "verify tail s", "train s", "gen tok/s", *(["held-out pass@1"] if heldout else [])):
        t.add_column(col, justify="right")
    for m in result["cycles"]:
        tm = m["timing"]
        p1 = _heldout_p1(m.get("heldout"))
        t.add_row(str(m["cycle"]), str(m["samples"]), f"{m['pass_rate']:.1%}", _num(m["mean_reward"]),
                  str(m["prompts_solved"]), str(m["kept"]), str(m["errors"]), f"{m['learning_rate']:.1e}",
                  f"{tm['generate_s']:.0f}", f"{tm.get('verify_tail_s', tm['verify_s']):.0f}", f"{tm['train_s']:.0f}",
                  f"{m['gen_tokens_per_s']:.0f}", *([("-" if p1 is None else f"{p1:.1%}")] if heldout else []))
    console().print(t)
    for line in (heldout_line(result), *_selection_lines(result)):
        if line:
            console().print(line)


def _heldout_p1(h) -> float | None:
    return (h.get("pass_at_k") or {}).get("1") if isinstance(h, dict) else None


def heldout_line(result: dict, key: str = "heldout", cycle: int | None = None) -> str | None:
    """The run's answer to 'did training help?': pass@1 on the held-out split (or the validation slice,
    `key`) before vs after the last cycle (or `cycle`), paired."""
    cycles = result["cycles"]
    m = next((c for c in cycles if c["cycle"] == cycle), None) if cycle else (cycles[-1] if cycles else None)
    start, last = result.get(f"{key}_start"), (m.get(key) if m else None)
    if _heldout_p1(start) is None or _heldout_p1(last) is None:
        return None
    v = last.get("vs_start") or {}
    lo, hi = v.get("ci95") or (float("nan"), float("nan"))
    mc = v.get("mcnemar")
    return (f"{'held-out' if key == 'heldout' else 'validation'} pass@1 ({start['problems']} tasks): start "
            f"{_heldout_p1(start):.1%} -> {last['label']} "
            f"{_heldout_p1(last):.1%}; paired delta {v.get('delta', float('nan')) * 100:+.1f} pts "
            f"(95% CI {lo * 100:+.1f} to {hi * 100:+.1f}), p = {v.get('p_permutation', float('nan')):.3g}"
            + (f", McNemar p = {mc['p']:.3g} ({mc['gained']} gained, {mc['lost']} lost)" if mc else ""))


def _selection_lines(result: dict) -> list[str | None]:
    """With a validation slice: which cycle became final_model, and that cycle's held-out score."""
    picked = result.get("selected_cycle")
    if not picked:
        return []
    last = result["cycles"][-1]["cycle"] if result["cycles"] else None
    return [f"final_model = cycle {picked} (best on validation)", heldout_line(result, "validation", picked),
            heldout_line(result, "heldout", picked) if picked != last else None]


def run_and_report(cfg) -> int:
    from halo_forge.cli.runctl import graceful_stop
    from halo_forge.train.raft import run_raft

    from halo_forge.distributed import world_from_env

    with graceful_stop() as stop:
        result = run_raft(cfg, stop, report=print_cycle)
    if not world_from_env().is_main:
        return 130 if result["status"] == "interrupted" else 0
    print_summary(result)
    if cfg.report and result.get("cycles"):
        common.write_report_after([str(cfg.output_dir)])
    if result["status"] == "interrupted":
        print(f"interrupted: re-run the same command to resume from {cfg.output_dir}", file=sys.stderr)
        return 130
    return 0


def cmd_train(args) -> int:
    return run_and_report(raft_config(args))
