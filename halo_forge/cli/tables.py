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
