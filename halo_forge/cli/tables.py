"""Rich tables for the CLI. Piped output is never cut at 80 columns: names are what a reader greps for."""

from __future__ import annotations

import sys


def console():
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=True)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def paired_table(report: dict, title: str):
    from rich.table import Table

    t = Table(title=f"{title} — {report['tasks']} tasks")
    for col in ("run", "vs", "metric", "baseline", "run value", "Δ", "95% CI (paired bootstrap)", "p (permutation)",
                "McNemar gained/lost", "McNemar p"):
        t.add_column(col, no_wrap=col in ("run", "vs"))
    for pair in report["pairs"]:
        mc = pair.get("mcnemar")
        for metric, m in pair["metrics"].items():
            lo, hi = m["ci95"]
            t.add_row(pair["run"], pair["baseline"], metric, _pct(m["baseline"]), _pct(m["run"]),
                      f"{100 * m['delta']:+.1f} pts", f"[{100 * lo:+.1f}, {100 * hi:+.1f}]", f"{m['p_permutation']:.4f}",
                      f"{mc['gained']}/{mc['lost']}" if mc and metric == "pass@1" else "—",
                      f"{mc['p']:.4g}" if mc and metric == "pass@1" else "—")
    return t


def seed_table(seeds: dict, ks: list[int]):
    from rich.table import Table

    t = Table(title="arms over seeds (mean ± sd)")
    t.add_column("arm", no_wrap=True)
    t.add_column("seeds")
    for k in ks:
        t.add_column(f"pass@{k}")
    for name, row in seeds.items():
        cells = []
        for k in ks:
            m = row.get(f"pass@{k}")
            cells.append(f"{_pct(m['mean'])} ± {100 * m['sd']:.1f}" if m else "—")
        t.add_row(name, str(row["seeds"]), *cells)
    return t


def result_table(result: dict):
    """A benchmark result as 'metric | value' rows: what a person reads after `benchmark run`."""
    from rich.table import Table

    cfg = result.get("config") or {}
    t = Table(title=f"benchmark — {cfg.get('model', '?')} on {cfg.get('dataset') or cfg.get('prompts') or '?'}"
                    f" — sandbox: {result.get('isolation', '?')}")
    t.add_column("metric", no_wrap=True)
    t.add_column("value", justify="right")
    t.add_row("tasks × samples", f"{result.get('problems', '?')} × {cfg.get('samples', '?')} = {result.get('total')}")
    t.add_row("passed", f"{result.get('passed')} ({_pct(result.get('pass_rate', 0.0))})")
    for k, v in sorted((result.get("pass_at_k") or {}).items(), key=lambda kv: int(str(kv[0]).split("@")[-1])):
        name = k if str(k).startswith("pass@") else f"pass@{k}"
        t.add_row(name, _pct(v))
    if result.get("pass_at_1_ci95"):
        lo, hi = result["pass_at_1_ci95"]
        t.add_row("pass@1 95% CI", f"[{_pct(lo)}, {_pct(hi)}]")
    for key in ["compile_rate", "mean_reward", *sorted(k for k in result if k.startswith("mean_") and k != "mean_reward")]:
        if isinstance(result.get(key), (int, float)):
            t.add_row(key.replace("_", " "), _pct(result[key]) if key == "compile_rate" else f"{result[key]:.3f}")
    t.add_row("errors (could not verify)", str(result.get("errors", 0)))
    tm = result.get("timing") or {}
    t.add_row("generate / verify / wall s", f"{tm.get('generation_time', 0):.0f} / {tm.get('verification_time', 0):.0f}"
                                            f" / {tm.get('wall_time', 0):.0f}")
    t.add_row("tokens/s", f"{tm.get('tokens_per_second', 0):.0f}")
    return t
